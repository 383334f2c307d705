/*
 * Intel ACPI Component Architecture
 * 
 *
 * ACPI Data Table [XSDT]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "XSDT"    [Extended System Description Table]
[004h 0004   4]                 Table Length : 0000003C
[008h 0008   1]                     Revision : 01
[009h 0009   1]                     Checksum : 47
[00Ah 0010   6]                       Oem ID : "MEMPLG"
[010h 0016   8]                 Oem Table ID : "MEMPLUG "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "MPLG"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   8]       ACPI Table Address   0 : 00000000000E0070
[02Ch 0044   8]       ACPI Table Address   1 : 00000000000E0200
[034h 0052   8]       ACPI Table Address   2 : 00000000000E0270

Raw Table Data: Length 60 (0x3C)

    0000: 58 53 44 54 3C 00 00 00 01 47 4D 45 4D 50 4C 47  // XSDT<....GMEMPLG
    0010: 4D 45 4D 50 4C 55 47 20 01 00 00 00 4D 50 4C 47  // MEMPLUG ....MPLG
    0020: 01 00 00 00 70 00 0E 00 00 00 00 00 00 02 0E 00  // ....p...........
    0030: 00 00 00 00 70 02 0E 00 00 00 00 00              // ....p.......
