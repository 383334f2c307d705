/*
 * Intel ACPI Component Architecture
 * 
 * Disassembling to symbolic ASL+ operators
 *
 *
 * Original Table Header:
 *     Signature        "DSDT"
 *     Length           0x00000054 (84)
 *     Revision         0x02
 *     Checksum         0x02
 *     OEM ID           "MEMPLG"
 *     OEM Table ID     "MEMPLUG "
 *     OEM Revision     0x00000001 (1)
 *     Compiler ID      "MPLG"
 *     Compiler Version 0x00000001 (1)
 */
DefinitionBlock ("", "DSDT", 2, "MEMPLG", "MEMPLUG ", 0x00000001)
{
    Name (_S5, Package (0x04)  // _S5_: S5 System State
    {
        0x05, 
        0x05, 
        Zero, 
        Zero
    })
    Scope (_SB)
    {
        Device (C000)
        {
            Name (_HID, "ACPI0007" /* Processor Device */)  // _HID: Hardware ID
            Name (_UID, Zero)  // _UID: Unique ID
        }
    }
}

