/*
 * Intel ACPI Component Architecture
 * 
 *
 * ACPI Data Table [APIC]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "APIC"    [Multiple APIC Description Table (MADT)]
[004h 0004   4]                 Table Length : 0000005A
[008h 0008   1]                     Revision : 05
[009h 0009   1]                     Checksum : 62
[00Ah 0010   6]                       Oem ID : "MEMPLG"
[010h 0016   8]                 Oem Table ID : "MEMPLUG "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "MPLG"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   4]           Local Apic Address : FEE00000
[028h 0040   4]        Flags (decoded below) : 00000001
                         PC-AT Compatibility : 1

[02Ch 0044   1]                Subtable Type : 00 [Processor Local APIC]
[02Dh 0045   1]                       Length : 08
[02Eh 0046   1]                 Processor ID : 00
[02Fh 0047   1]                Local Apic ID : 00
[030h 0048   4]        Flags (decoded below) : 00000001
                           Processor Enabled : 1
                      Runtime Online Capable : 0

[034h 0052   1]                Subtable Type : 01 [I/O APIC]
[035h 0053   1]                       Length : 0C
[036h 0054   1]                  I/O Apic ID : 01
[037h 0055   1]                     Reserved : 00
[038h 0056   4]                      Address : FEC00000
[03Ch 0060   4]                    Interrupt : 00000000

[040h 0064   1]                Subtable Type : 02 [Interrupt Source Override]
[041h 0065   1]                       Length : 0A
[042h 0066   1]                          Bus : 00
[043h 0067   1]                       Source : 00
[044h 0068   4]                    Interrupt : 00000002
[048h 0072   2]        Flags (decoded below) : 0000
                                    Polarity : 0
                                Trigger Mode : 0

[04Ah 0074   1]                Subtable Type : 02 [Interrupt Source Override]
[04Bh 0075   1]                       Length : 0A
[04Ch 0076   1]                          Bus : 00
[04Dh 0077   1]                       Source : 09
[04Eh 0078   4]                    Interrupt : 00000009
[052h 0082   2]        Flags (decoded below) : 000D
                                    Polarity : 1
                                Trigger Mode : 3

[054h 0084   1]                Subtable Type : 04 [Local APIC NMI]
[055h 0085   1]                       Length : 06
[056h 0086   1]                 Processor ID : FF
[057h 0087   2]        Flags (decoded below) : 0000
                                    Polarity : 0
                                Trigger Mode : 0
[059h 0089   1]         Interrupt Input LINT : 01

Raw Table Data: Length 90 (0x5A)

    0000: 41 50 49 43 5A 00 00 00 05 62 4D 45 4D 50 4C 47  // APICZ....bMEMPLG
    0010: 4D 45 4D 50 4C 55 47 20 01 00 00 00 4D 50 4C 47  // MEMPLUG ....MPLG
    0020: 01 00 00 00 00 00 E0 FE 01 00 00 00 00 08 00 00  // ................
    0030: 01 00 00 00 01 0C 01 00 00 00 C0 FE 00 00 00 00  // ................
    0040: 02 0A 00 00 02 00 00 00 00 00 02 0A 00 09 09 00  // ................
    0050: 00 00 0D 00 04 06 FF 00 00 01                    // ..........
