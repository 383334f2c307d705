/*
 * Intel ACPI Component Architecture
 * 
 *
 * ACPI Data Table [SRAT]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "SRAT"    [System Resource Affinity Table]
[004h 0004   4]                 Table Length : 00000090
[008h 0008   1]                     Revision : 03
[009h 0009   1]                     Checksum : 5E
[00Ah 0010   6]                       Oem ID : "MEMPLG"
[010h 0016   8]                 Oem Table ID : "MEMPLUG "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "MPLG"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   4]               Table Revision : 00000001
[028h 0040   8]                     Reserved : 0000000000000000

[030h 0048   1]                Subtable Type : 00 [Processor Local APIC/SAPIC Affinity]
[031h 0049   1]                       Length : 10

[032h 0050   1]      Proximity Domain Low(8) : 00
[033h 0051   1]                      Apic ID : 00
[034h 0052   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[038h 0056   1]              Local Sapic EID : 00
[039h 0057   3]    Proximity Domain High(24) : 000000
[03Ch 0060   4]                 Clock Domain : 00000000

[040h 0064   1]                Subtable Type : 01 [Memory Affinity]
[041h 0065   1]                       Length : 28

[042h 0066   4]             Proximity Domain : 00000000
[046h 0070   2]                    Reserved1 : 0000
[048h 0072   8]                 Base Address : 0000000000000000
[050h 0080   8]               Address Length : 0000000040000000
[058h 0088   4]                    Reserved2 : 00000000
[05Ch 0092   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
                               Hot Pluggable : 0
                                Non-Volatile : 0
[060h 0096   8]                    Reserved3 : 0000000000000000

[068h 0104   1]                Subtable Type : 01 [Memory Affinity]
[069h 0105   1]                       Length : 28

[06Ah 0106   4]             Proximity Domain : 00000000
[06Eh 0110   2]                    Reserved1 : 0000
[070h 0112   8]                 Base Address : 0000000100000000
[078h 0120   8]               Address Length : 0000000100000000
[080h 0128   4]                    Reserved2 : 00000000
[084h 0132   4]        Flags (decoded below) : 00000003
                                     Enabled : 1
                               Hot Pluggable : 1
                                Non-Volatile : 0
[088h 0136   8]                    Reserved3 : 0000000000000000

Raw Table Data: Length 144 (0x90)

    0000: 53 52 41 54 90 00 00 00 03 5E 4D 45 4D 50 4C 47  // SRAT.....^MEMPLG
    0010: 4D 45 4D 50 4C 55 47 20 01 00 00 00 4D 50 4C 47  // MEMPLUG ....MPLG
    0020: 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0030: 00 10 00 00 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0040: 01 28 00 00 00 00 00 00 00 00 00 00 00 00 00 00  // .(..............
    0050: 00 00 00 40 00 00 00 00 00 00 00 00 01 00 00 00  // ...@............
    0060: 00 00 00 00 00 00 00 00 01 28 00 00 00 00 00 00  // .........(......
    0070: 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00  // ................
    0080: 00 00 00 00 03 00 00 00 00 00 00 00 00 00 00 00  // ................
