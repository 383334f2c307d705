/*
 * Intel ACPI Component Architecture
 * 
 * Disassembling to symbolic ASL+ operators
 *
 *
 * Original Table Header:
 *     Signature        "DSDT"
 *     Length           0x00000467 (1127)
 *     Revision         0x02
 *     Checksum         0x3B
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

    Scope (_SB)
    {
        Device (MHPC)
        {
            Name (_HID, EisaId ("PNP0A06") /* Generic Container Device */)  // _HID: Hardware ID
            Name (_UID, "DIMM devices")  // _UID: Unique ID
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                IO (Decode16,
                    0x0A00,             // Range Minimum
                    0x0A00,             // Range Maximum
                    0x01,               // Alignment
                    0x20,               // Length
                    )
            })
            OperationRegion (MHPR, SystemIO, 0x0A00, 0x20)
            Field (MHPR, DWordAcc, NoLock, Preserve)
            {
                BALO,   32, 
                BAHI,   32, 
                SZLO,   32, 
                SZHI,   32, 
                PXM,    32, 
                Offset (0x18), 
                NEXT,   32
            }

            Field (MHPR, DWordAcc, NoLock, Preserve)
            {
                SEL,    32, 
                OEVT,   32, 
                OSTA,   32
            }

            Field (MHPR, ByteAcc, NoLock, WriteAsZeros)
            {
                Offset (0x14), 
                ENAB,   1, 
                INSR,   1, 
                REMV,   1, 
                EJCT,   1
            }

            Mutex (MLCK, 0x00)
            Method (MSTA, 1, NotSerialized)
            {
                Acquire (MLCK, 0xFFFF)
                SEL = Arg0
                Local0 = Zero
                If (ENAB)
                {
                    Local0 = 0x0F
                }

                Release (MLCK)
                Return (Local0)
            }

            Method (MCRS, 1, Serialized)
            {
                Name (MR64, ResourceTemplate ()
                {
                    QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,
                        0x0000000000000000, // Granularity
                        0x0000000000000000, // Range Minimum
                        0x0000000000000000, // Range Maximum
                        0x0000000000000000, // Translation Offset
                        0x0000000000000000, // Length
                        ,, _Y00, AddressRangeMemory, TypeStatic)
                })
                CreateQWordField (MR64, \_SB.MHPC.MCRS._Y00._MIN, MMIN)  // _MIN: Minimum Base Address
                CreateQWordField (MR64, \_SB.MHPC.MCRS._Y00._MAX, MMAX)  // _MAX: Maximum Base Address
                CreateQWordField (MR64, \_SB.MHPC.MCRS._Y00._LEN, MLEN)  // _LEN: Length
                Acquire (MLCK, 0xFFFF)
                SEL = Arg0
                MMIN = ((BAHI << 0x20) | BALO) /* \_SB_.MHPC.BALO */
                MLEN = ((SZHI << 0x20) | SZLO) /* \_SB_.MHPC.SZLO */
                Release (MLCK)
                If (MLEN)
                {
                    MMAX = ((MMIN + MLEN) - One)
                }

                Return (MR64) /* \_SB_.MHPC.MCRS.MR64 */
            }

            Method (MPXM, 1, NotSerialized)
            {
                Acquire (MLCK, 0xFFFF)
                SEL = Arg0
                Local0 = PXM /* \_SB_.MHPC.PXM_ */
                Release (MLCK)
                Return (Local0)
            }

            Method (MOST, 3, NotSerialized)
            {
                Acquire (MLCK, 0xFFFF)
                SEL = Arg0
                OEVT = Arg1
                OSTA = Arg2
                Release (MLCK)
            }

            Method (MEJ0, 1, NotSerialized)
            {
                Acquire (MLCK, 0xFFFF)
                SEL = Arg0
                EJCT = One
                Release (MLCK)
            }

            Method (MTFY, 2, NotSerialized)
            {
                If ((Arg0 < 0x02))
                {
                    If ((Arg0 < One))
                    {
                        Notify (MP00, Arg1)
                    }
                    Else
                    {
                        Notify (MP01, Arg1)
                    }
                }
                ElseIf ((Arg0 < 0x03))
                {
                    Notify (MP02, Arg1)
                }
                Else
                {
                    Notify (MP03, Arg1)
                }
            }

            Method (MSCN, 0, NotSerialized)
            {
                Acquire (MLCK, 0xFFFF)
                Local1 = Zero
                Local0 = NEXT /* \_SB_.MHPC.NEXT */
                While (((Local0 < 0x04) && (Local1 < 0x08)))
                {
                    If (INSR)
                    {
                        MTFY (Local0, One)
                        INSR = One
                    }
                    ElseIf (REMV)
                    {
                        MTFY (Local0, 0x03)
                        REMV = One
                    }

                    Local1++
                    Local0 = NEXT /* \_SB_.MHPC.NEXT */
                }

                Release (MLCK)
            }

            Device (MP00)
            {
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Name (_UID, Zero)  // _UID: Unique ID
                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MSTA (Zero))
                }

                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (Zero))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (Zero))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (Zero, Arg0, Arg1)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (Zero)
                }
            }

            Device (MP01)
            {
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Name (_UID, One)  // _UID: Unique ID
                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MSTA (One))
                }

                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (One))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (One))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (One, Arg0, Arg1)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (One)
                }
            }

            Device (MP02)
            {
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Name (_UID, 0x02)  // _UID: Unique ID
                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MSTA (0x02))
                }

                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (0x02))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (0x02))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (0x02, Arg0, Arg1)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (0x02)
                }
            }

            Device (MP03)
            {
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Name (_UID, 0x03)  // _UID: Unique ID
                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MSTA (0x03))
                }

                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (0x03))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (0x03))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (0x03, Arg0, Arg1)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (0x03)
                }
            }
        }
    }

    Scope (_GPE)
    {
        Method (_E03, 0, NotSerialized)  // _Exx: Edge-Triggered GPE, xx=0x00-0xFF
        {
            \_SB.MHPC.MSCN ()
        }
    }
}

