/* Byte-exact tests of the AML emitter against iasl 20200925.
 *
 * Each array below an "ASL:" comment is what iasl emits for that ASL inside
 * DefinitionBlock ("", "DSDT", 2, "MEMPLG", "TEST", 1), with the 36-byte
 * table header cut off; tests/test_acpi_iasl.py recompiles every such
 * comment and checks that the array still matches. The PkgLength cases too
 * large for a comment quote iasl's bytes inline. */
#include <errno.h>

#include "acpi/aml.h"
#include "tests/unit.h"

/* Finish a, compare all its bytes with want, free it. */
#define CHECK_AML(a, want)                                                    \
	do {                                                                  \
		CHECK_EQ(aml_finish(a), 0);                                   \
		CHECK_EQ((a)->len, sizeof(want));                             \
		CHECK_MEM((a)->buf, want, sizeof(want));                      \
		aml_free(a);                                                  \
	} while (0)

/* The first error, and nothing emitted after it. */
#define CHECK_AML_ERR(a, len_at_error, want_err)                              \
	do {                                                                  \
		CHECK_EQ(aml_finish(a), want_err);                            \
		CHECK_EQ((a)->len, len_at_error);                             \
		aml_free(a);                                                  \
	} while (0)

/* ASL:
 *   Name (I0, 0)
 *   Name (I1, 1)
 *   Name (I2, 2)
 *   Name (I3, 0xFF)
 *   Name (I4, 0x0100)
 *   Name (I5, 0xFFFF)
 *   Name (I6, 0x00010000)
 *   Name (I7, 0xFFFFFFFF)
 *   Name (I8, 0x0000000100000000)
 *   Name (I9, 0xFFFFFFFFFFFFFFFF)
 */
static const uint8_t int_aml[] = {
	0x08, 0x49, 0x30, 0x5f, 0x5f, 0x00, 0x08, 0x49, 0x31, 0x5f, 0x5f, 0x01,
	0x08, 0x49, 0x32, 0x5f, 0x5f, 0x0a, 0x02, 0x08, 0x49, 0x33, 0x5f, 0x5f,
	0x0a, 0xff, 0x08, 0x49, 0x34, 0x5f, 0x5f, 0x0b, 0x00, 0x01, 0x08, 0x49,
	0x35, 0x5f, 0x5f, 0x0b, 0xff, 0xff, 0x08, 0x49, 0x36, 0x5f, 0x5f, 0x0c,
	0x00, 0x00, 0x01, 0x00, 0x08, 0x49, 0x37, 0x5f, 0x5f, 0x0c, 0xff, 0xff,
	0xff, 0xff, 0x08, 0x49, 0x38, 0x5f, 0x5f, 0x0e, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x08, 0x49, 0x39, 0x5f, 0x5f, 0xff
};

/* ASL:
 *   Name (S0, "")
 *   Name (S1, "ACPI0007")
 */
static const uint8_t string_aml[] = {
	0x08, 0x53, 0x30, 0x5f, 0x5f, 0x0d, 0x00, 0x08, 0x53, 0x31, 0x5f, 0x5f,
	0x0d, 0x41, 0x43, 0x50, 0x49, 0x30, 0x30, 0x30, 0x37, 0x00
};

/* ASL:
 *   Name (B0, Buffer () {})
 *   Name (B1, Buffer () {0x01, 0x02, 0x03})
 */
static const uint8_t buffer_aml[] = {
	0x08, 0x42, 0x30, 0x5f, 0x5f, 0x11, 0x02, 0x00, 0x08, 0x42, 0x31, 0x5f,
	0x5f, 0x11, 0x06, 0x0a, 0x03, 0x01, 0x02, 0x03
};

/* ASL:
 *   Name (_S5, Package () {5, 5, 0, 0})
 *   Name (P, Package () {One, Package () {"x"}, Buffer () {7}})
 */
static const uint8_t package_aml[] = {
	0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05,
	0x00, 0x00, 0x08, 0x50, 0x5f, 0x5f, 0x5f, 0x12, 0x0d, 0x03, 0x01, 0x12,
	0x05, 0x01, 0x0d, 0x78, 0x00, 0x11, 0x03, 0x01, 0x07
};

/* ASL:
 *   Name (H0, EisaId ("PNP0C80"))
 *   Name (H1, EisaId ("PNP0A06"))
 */
static const uint8_t eisaid_aml[] = {
	0x08, 0x48, 0x30, 0x5f, 0x5f, 0x0c, 0x41, 0xd0, 0x0c, 0x80, 0x08, 0x48,
	0x31, 0x5f, 0x5f, 0x0c, 0x41, 0xd0, 0x0a, 0x06
};

/* ASL:
 *   Name (X, One)
 *   Name (_UID, 0x0A)
 */
static const uint8_t name_seg_aml[] = {
	0x08, 0x58, 0x5f, 0x5f, 0x5f, 0x01, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x0a,
	0x0a
};

/* ASL:
 *   Scope (\) { Name (Z, 3) }
 */
static const uint8_t name_root_aml[] = {
	0x10, 0x0a, 0x5c, 0x00, 0x08, 0x5a, 0x5f, 0x5f, 0x5f, 0x0a, 0x03
};

/* ASL:
 *   Name (_SB.Y, One)
 *   Method (M, 0) { Return (\_SB.Y) }
 */
static const uint8_t name_dual_aml[] = {
	0x08, 0x2e, 0x5f, 0x53, 0x42, 0x5f, 0x59, 0x5f, 0x5f, 0x5f, 0x01, 0x14,
	0x11, 0x4d, 0x5f, 0x5f, 0x5f, 0x00, 0xa4, 0x5c, 0x2e, 0x5f, 0x53, 0x42,
	0x5f, 0x59, 0x5f, 0x5f, 0x5f
};

/* ASL:
 *   Scope (_SB) {
 *       Device (PCI0) {
 *           Name (_HID, "PNP0A03")
 *           Device (ISA) { Name (_ADR, 0x00010000) }
 *       }
 *   }
 *   Name (_SB.PCI0.ISA.W, One)
 *   Scope (_SB.PCI0) { Name (^P, 1) Name (^^Q, 2) }
 */
static const uint8_t name_multi_parent_aml[] = {
	0x10, 0x2b, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x24, 0x50, 0x43, 0x49,
	0x30, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x50, 0x4e, 0x50, 0x30, 0x41,
	0x30, 0x33, 0x00, 0x5b, 0x82, 0x0f, 0x49, 0x53, 0x41, 0x5f, 0x08, 0x5f,
	0x41, 0x44, 0x52, 0x0c, 0x00, 0x00, 0x01, 0x00, 0x08, 0x2f, 0x04, 0x5f,
	0x53, 0x42, 0x5f, 0x50, 0x43, 0x49, 0x30, 0x49, 0x53, 0x41, 0x5f, 0x57,
	0x5f, 0x5f, 0x5f, 0x01, 0x10, 0x1a, 0x2e, 0x5f, 0x53, 0x42, 0x5f, 0x50,
	0x43, 0x49, 0x30, 0x08, 0x5e, 0x50, 0x5f, 0x5f, 0x5f, 0x01, 0x08, 0x5e,
	0x5e, 0x51, 0x5f, 0x5f, 0x5f, 0x0a, 0x02
};

/* ASL:
 *   Scope (_SB) {
 *       Device (C000) {
 *           Name (_HID, "ACPI0007")
 *           Name (_UID, 0)
 *       }
 *   }
 */
static const uint8_t scope_device_aml[] = {
	0x10, 0x21, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x1a, 0x43, 0x30, 0x30,
	0x30, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x41, 0x43, 0x50, 0x49, 0x30,
	0x30, 0x30, 0x37, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00
};

/* ASL:
 *   Method (MSCN, 0, Serialized) { Return (One) }
 *   Method (M2, 3, NotSerialized) { Return (Arg2) }
 *   Method (M7, 7, Serialized) { Return (Arg6) }
 */
static const uint8_t method_aml[] = {
	0x14, 0x08, 0x4d, 0x53, 0x43, 0x4e, 0x08, 0xa4, 0x01, 0x14, 0x08, 0x4d,
	0x32, 0x5f, 0x5f, 0x03, 0xa4, 0x6a, 0x14, 0x08, 0x4d, 0x37, 0x5f, 0x5f,
	0x0f, 0xa4, 0x6e
};

/* ASL:
 *   OperationRegion (HPMR, SystemIO, 0x0A00, 0x18)
 *   Field (HPMR, DWordAcc, NoLock, Preserve) {
 *       MRBL, 32, MRBH, 32, MRLL, 32, MRLH, 32, MPX, 32
 *   }
 *   Field (HPMR, ByteAcc, NoLock, WriteAsZeros) {
 *       Offset (0x14), MES, 1, MINS, 1, MRMV, 1, MEJ, 1
 *   }
 *   Field (HPMR, DWordAcc, Lock, WriteAsOnes) {
 *       MSEL, 32, , 3, MOEV, 5, Offset (0x10), MOSC, 32
 *   }
 */
static const uint8_t field_aml[] = {
	0x5b, 0x80, 0x48, 0x50, 0x4d, 0x52, 0x01, 0x0b, 0x00, 0x0a, 0x0a, 0x18,
	0x5b, 0x81, 0x1f, 0x48, 0x50, 0x4d, 0x52, 0x03, 0x4d, 0x52, 0x42, 0x4c,
	0x20, 0x4d, 0x52, 0x42, 0x48, 0x20, 0x4d, 0x52, 0x4c, 0x4c, 0x20, 0x4d,
	0x52, 0x4c, 0x48, 0x20, 0x4d, 0x50, 0x58, 0x5f, 0x20, 0x5b, 0x81, 0x1d,
	0x48, 0x50, 0x4d, 0x52, 0x41, 0x00, 0x40, 0x0a, 0x4d, 0x45, 0x53, 0x5f,
	0x01, 0x4d, 0x49, 0x4e, 0x53, 0x01, 0x4d, 0x52, 0x4d, 0x56, 0x01, 0x4d,
	0x45, 0x4a, 0x5f, 0x01, 0x5b, 0x81, 0x1a, 0x48, 0x50, 0x4d, 0x52, 0x33,
	0x4d, 0x53, 0x45, 0x4c, 0x20, 0x00, 0x03, 0x4d, 0x4f, 0x45, 0x56, 0x05,
	0x00, 0x48, 0x05, 0x4d, 0x4f, 0x53, 0x43, 0x20
};

/* ASL:
 *   OperationRegion (R, SystemMemory, 0xFED00000, 0x0400)
 *   Field (R, AnyAcc, NoLock, Preserve) { Offset (0), , 200, F1, 4096, F2, 8 }
 */
static const uint8_t field_wide_aml[] = {
	0x5b, 0x80, 0x52, 0x5f, 0x5f, 0x5f, 0x00, 0x0c, 0x00, 0x00, 0xd0, 0xfe,
	0x0b, 0x00, 0x04, 0x5b, 0x81, 0x15, 0x52, 0x5f, 0x5f, 0x5f, 0x00, 0x00,
	0x48, 0x0c, 0x46, 0x31, 0x5f, 0x5f, 0x80, 0x00, 0x01, 0x46, 0x32, 0x5f,
	0x5f, 0x08
};

/* ASL:
 *   Mutex (MLCK, 0)
 *   Mutex (M2, 15)
 *   Method (M, 0) {
 *       Acquire (MLCK, 0xFFFF)
 *       Release (MLCK)
 *       Acquire (M2, 5)
 *       Release (M2)
 *   }
 */
static const uint8_t mutex_aml[] = {
	0x5b, 0x01, 0x4d, 0x4c, 0x43, 0x4b, 0x00, 0x5b, 0x01, 0x4d, 0x32, 0x5f,
	0x5f, 0x0f, 0x14, 0x22, 0x4d, 0x5f, 0x5f, 0x5f, 0x00, 0x5b, 0x23, 0x4d,
	0x4c, 0x43, 0x4b, 0xff, 0xff, 0x5b, 0x27, 0x4d, 0x4c, 0x43, 0x4b, 0x5b,
	0x23, 0x4d, 0x32, 0x5f, 0x5f, 0x05, 0x00, 0x5b, 0x27, 0x4d, 0x32, 0x5f,
	0x5f
};

/* ASL:
 *   Method (M, 2) {
 *       If (LAnd (LEqual (Arg0, 1), LNot (Arg1))) { Return (1) }
 *       Else { Return (0) }
 *   }
 */
static const uint8_t if_else_aml[] = {
	0x14, 0x14, 0x4d, 0x5f, 0x5f, 0x5f, 0x02, 0xa0, 0x09, 0x90, 0x93, 0x68,
	0x01, 0x92, 0x69, 0xa4, 0x01, 0xa1, 0x03, 0xa4, 0x00
};

/* ASL:
 *   Method (M, 0) {
 *       Store (0, Local0)
 *       While (LLess (Local0, 8)) { Increment (Local0) }
 *       Return (Local0)
 *   }
 */
static const uint8_t while_aml[] = {
	0x14, 0x13, 0x4d, 0x5f, 0x5f, 0x5f, 0x00, 0x70, 0x00, 0x60, 0xa2, 0x07,
	0x95, 0x60, 0x0a, 0x08, 0x75, 0x60, 0xa4, 0x60
};

/* ASL:
 *   Method (M, 1) {
 *       Store (1, Local0)
 *       Add (Local0, 5, Local1)
 *       ShiftLeft (Local1, 3, Local2)
 *       Increment (Local0)
 *       Subtract (Local2, Local0, Local3)
 *       And (Local3, 0xFF, Local4)
 *       Or (Local4, 0x0100, Local5)
 *       Store (Add (Local5, Arg0), Local6)
 *       Return (Local6)
 *   }
 */
static const uint8_t arith_aml[] = {
	0x14, 0x2c, 0x4d, 0x5f, 0x5f, 0x5f, 0x01, 0x70, 0x01, 0x60, 0x72, 0x60,
	0x0a, 0x05, 0x61, 0x79, 0x61, 0x0a, 0x03, 0x62, 0x75, 0x60, 0x74, 0x62,
	0x60, 0x63, 0x7b, 0x63, 0x0a, 0xff, 0x64, 0x7d, 0x64, 0x0b, 0x00, 0x01,
	0x65, 0x70, 0x72, 0x65, 0x68, 0x00, 0x66, 0xa4, 0x66
};

/* ASL:
 *   Device (MP00) { Name (_HID, EisaId ("PNP0C80")) }
 *   Method (M, 1) {
 *       Notify (MP00, 3)
 *       Notify (MP00, Arg0)
 *   }
 */
static const uint8_t notify_aml[] = {
	0x5b, 0x82, 0x0f, 0x4d, 0x50, 0x30, 0x30, 0x08, 0x5f, 0x48, 0x49, 0x44,
	0x0c, 0x41, 0xd0, 0x0c, 0x80, 0x14, 0x13, 0x4d, 0x5f, 0x5f, 0x5f, 0x01,
	0x86, 0x4d, 0x50, 0x30, 0x30, 0x0a, 0x03, 0x86, 0x4d, 0x50, 0x30, 0x30,
	0x68
};

/* ASL:
 *   Scope (_SB) { Method (MTFY, 2) { Return (Arg1) } }
 *   Method (M, 0) {
 *       \_SB.MTFY (1, 2)
 *       Store (\_SB.MTFY (3, 4), Local7)
 *       Return (Local7)
 *   }
 */
static const uint8_t call_aml[] = {
	0x10, 0x0e, 0x5f, 0x53, 0x42, 0x5f, 0x14, 0x08, 0x4d, 0x54, 0x46, 0x59,
	0x02, 0xa4, 0x69, 0x14, 0x25, 0x4d, 0x5f, 0x5f, 0x5f, 0x00, 0x5c, 0x2e,
	0x5f, 0x53, 0x42, 0x5f, 0x4d, 0x54, 0x46, 0x59, 0x01, 0x0a, 0x02, 0x70,
	0x5c, 0x2e, 0x5f, 0x53, 0x42, 0x5f, 0x4d, 0x54, 0x46, 0x59, 0x0a, 0x03,
	0x0a, 0x04, 0x67, 0xa4, 0x67
};

/* ASL:
 *   Name (BUF, Buffer () {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
 *   Method (M, 2, Serialized) {
 *       CreateDWordField (BUF, 0x02, DW)
 *       CreateQWordField (BUF, 4, QW)
 *       CreateDWordField (Arg0, Arg1, DWA)
 *       CreateQWordField (Arg0, Add (Arg1, 38), QWA)
 *       Store (0x12345678, DW)
 *       Return (QW)
 *   }
 */
static const uint8_t create_field_aml[] = {
	0x08, 0x42, 0x55, 0x46, 0x5f, 0x11, 0x0f, 0x0a, 0x0c, 0x01, 0x02, 0x03,
	0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x14, 0x3d, 0x4d,
	0x5f, 0x5f, 0x5f, 0x0a, 0x8a, 0x42, 0x55, 0x46, 0x5f, 0x0a, 0x02, 0x44,
	0x57, 0x5f, 0x5f, 0x8f, 0x42, 0x55, 0x46, 0x5f, 0x0a, 0x04, 0x51, 0x57,
	0x5f, 0x5f, 0x8a, 0x68, 0x69, 0x44, 0x57, 0x41, 0x5f, 0x8f, 0x68, 0x72,
	0x69, 0x0a, 0x26, 0x00, 0x51, 0x57, 0x41, 0x5f, 0x70, 0x0c, 0x78, 0x56,
	0x34, 0x12, 0x44, 0x57, 0x5f, 0x5f, 0xa4, 0x51, 0x57, 0x5f, 0x5f
};

/* ASL:
 *   Method (M, 1) {
 *       If (LEqual (Arg0, 1)) { Return (2) }
 *       ElseIf (LEqual (Arg0, 3)) { Return (4) }
 *       Return (0)
 *   }
 */
static const uint8_t else_if_aml[] = {
	0x14, 0x1b, 0x4d, 0x5f, 0x5f, 0x5f, 0x01, 0xa0, 0x07, 0x93, 0x68, 0x01,
	0xa4, 0x0a, 0x02, 0xa1, 0x0a, 0xa0, 0x08, 0x93, 0x68, 0x0a, 0x03, 0xa4,
	0x0a, 0x04, 0xa4, 0x00
};

/* ASL:
 *   Name (R0, ResourceTemplate () {
 *       IO (Decode16, 0x0A00, 0x0A00, 0x01, 0x18)
 *       IO (Decode10, 0x0060, 0x0060, 0x00, 0x01)
 *   })
 */
static const uint8_t io_aml[] = {
	0x08, 0x52, 0x30, 0x5f, 0x5f, 0x11, 0x15, 0x0a, 0x12, 0x47, 0x01, 0x00,
	0x0a, 0x00, 0x0a, 0x01, 0x18, 0x47, 0x00, 0x60, 0x00, 0x60, 0x00, 0x00,
	0x01, 0x79, 0x00
};

/* ASL:
 *   Name (R1, ResourceTemplate () {
 *       WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
 *           0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
 *       WordIO (ResourceConsumer, MinNotFixed, MaxNotFixed, SubDecode,
 *           ISAOnlyRanges, 0x0001, 0x0600, 0x061F, 0x0010, 0x0020)
 *   })
 */
static const uint8_t word_io_aml[] = {
	0x08, 0x52, 0x31, 0x5f, 0x5f, 0x11, 0x25, 0x0a, 0x22, 0x88, 0x0d, 0x00,
	0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff, 0x00, 0x00, 0x00,
	0xf3, 0x88, 0x0d, 0x00, 0x01, 0x03, 0x02, 0x01, 0x00, 0x00, 0x06, 0x1f,
	0x06, 0x10, 0x00, 0x20, 0x00, 0x79, 0x00
};

/* ASL:
 *   Name (R2, ResourceTemplate () {
 *       QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
 *           Cacheable, ReadWrite, 0x0, 0x100000000, 0x13FFFFFFF, 0x0,
 *           0x40000000)
 *       QWordMemory (ResourceConsumer, SubDecode, MinNotFixed, MaxNotFixed,
 *           Prefetchable, ReadOnly, 0xFFF, 0x180000000, 0x1BFFFFFFF, 0x10,
 *           0x40000000)
 *   })
 */
static const uint8_t qword_memory_aml[] = {
	0x08, 0x52, 0x32, 0x5f, 0x5f, 0x11, 0x42, 0x06, 0x0a, 0x5e, 0x8a, 0x2b,
	0x00, 0x00, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x3f,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x8a, 0x2b, 0x00, 0x00,
	0x03, 0x06, 0xff, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xbf, 0x01, 0x00,
	0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x79, 0x00
};

/* ASL:
 *   Name (R3, ResourceTemplate () {})
 */
static const uint8_t empty_template_aml[] = {
	0x08, 0x52, 0x33, 0x5f, 0x5f, 0x11, 0x05, 0x0a, 0x02, 0x79, 0x00
};

static void pkglen_encode_boundaries(void)
{
	static const struct {
		uint32_t value;
		int n;
		uint8_t bytes[4];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 63, 1, { 0x3f } },
		{ 64, 2, { 0x40, 0x04 } },
		{ 160, 2, { 0x40, 0x0a } }, /* iasl: Offset (0x14) from bit 0 */
		{ 200, 2, { 0x48, 0x0c } }, /* iasl: ", 200" in a Field */
		{ 4095, 2, { 0x4f, 0xff } },
		{ 4096, 3, { 0x80, 0x00, 0x01 } }, /* iasl: "F1, 4096" */
		{ 0xfffff, 3, { 0x8f, 0xff, 0xff } },
		{ 0x100000, 4, { 0xc0, 0x00, 0x00, 0x01 } },
		{ 0x0fffffff, 4, { 0xcf, 0xff, 0xff, 0xff } },
	};
	uint8_t out[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 0xaa, sizeof(out));
		CHECK_EQ(aml_pkglen_encode(out, cases[i].value), cases[i].n);
		CHECK_MEM(out, cases[i].bytes, cases[i].n);
	}
	CHECK_EQ(aml_pkglen_encode(out, 0x10000000), -E2BIG);
}

/* Scope (\_SB) { Name (S, "aaa...") } with an n-character string: the body
 * after the PkgLength is 11 + n bytes. iasl gives these PkgLengths:
 *   n = 51:  10 3f              (62 + 1 = 63: one byte)
 *   n = 52:  10 41 04           (63 + 1 > 63, so 63 + 2 = 65)
 *   n = 4082: 10 4f ff          (4093 + 2 = 4095)
 *   n = 4083: 10 81 00 01       (4094 + 2 > 4095, so 4094 + 3 = 4097) */
static int scope_with_string(size_t n, const uint8_t *head, size_t nhead)
{
	struct aml a;
	char *s = malloc(n + 1);
	size_t sb;
	int ok;

	memset(s, 'a', n);
	s[n] = 0;
	aml_init(&a);
	sb = aml_scope_begin(&a, "_SB");
	aml_name_def(&a, "S");
	aml_string(&a, s);
	aml_end(&a, sb);
	ok = !aml_finish(&a) && a.len == nhead + 11 + n &&
	     !memcmp(a.buf, head, nhead) &&
	     !memcmp(a.buf + nhead, "_SB_\x08S___\x0d", 10) &&
	     !memcmp(a.buf + nhead + 10, s, n + 1);
	aml_free(&a);
	free(s);
	return ok;
}

static void pkglen_self_inclusive(void)
{
	CHECK(scope_with_string(51, (const uint8_t *)"\x10\x3f", 2));
	CHECK(scope_with_string(52, (const uint8_t *)"\x10\x41\x04", 3));
	CHECK(scope_with_string(4082, (const uint8_t *)"\x10\x4f\xff", 3));
	CHECK(scope_with_string(4083, (const uint8_t *)"\x10\x81\x00\x01", 4));
}

/* Scope (\_SB) holding 262 Name (Nxxx, "<3993 x a>") plus one Name (LAST,
 * "<561 + extra x a>"): a body of 0xfffff - 3 + extra bytes. iasl (from a
 * generated file; too big for a comment) gives
 *   extra = 0:  10 8f ff ff     (three bytes, the largest such length)
 *   extra = 1:  10 c1 00 00 01  (four bytes, 0x100001) */
static int scope_megabyte(size_t extra, const uint8_t *head, size_t nhead)
{
	char big[3994], last[563], name[5];
	struct aml a;
	size_t sb;
	int ok;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memset(last, 'a', 561 + extra);
	last[561 + extra] = 0;
	aml_init(&a);
	sb = aml_scope_begin(&a, "_SB");
	for (unsigned int i = 0; i < 262; i++) {
		snprintf(name, sizeof(name), "N%03X", i & 0xfff);
		aml_name_def(&a, name);
		aml_string(&a, big);
	}
	aml_name_def(&a, "LAST");
	aml_string(&a, last);
	aml_end(&a, sb);
	ok = !aml_finish(&a) && a.len == nhead + 0xfffff - 3 + extra &&
	     !memcmp(a.buf, head, nhead) && !memcmp(a.buf + nhead, "_SB_", 4);
	aml_free(&a);
	return ok;
}

static void pkglen_three_and_four_bytes(void)
{
	CHECK(scope_megabyte(0, (const uint8_t *)"\x10\x8f\xff\xff", 4));
	CHECK(scope_megabyte(1, (const uint8_t *)"\x10\xc1\x00\x00\x01", 5));
}

static void integers(void)
{
	static const uint64_t v[] = { 0,	   1,	       2,
				      0xff,	   0x100,      0xffff,
				      0x10000,	   0xffffffff, 0x100000000,
				      UINT64_MAX };
	struct aml a;
	char name[5];

	aml_init(&a);
	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(name, sizeof(name), "I%u", i % 10);
		aml_name_def(&a, name);
		aml_int(&a, v[i]);
	}
	CHECK_AML(&a, int_aml);
}

static void strings(void)
{
	struct aml a;

	aml_init(&a);
	aml_name_def(&a, "S0");
	aml_string(&a, "");
	aml_name_def(&a, "S1");
	aml_string(&a, "ACPI0007");
	CHECK_AML(&a, string_aml);

	aml_init(&a);
	aml_name_def(&a, "S2");
	aml_string(&a, "caf\xc3\xa9"); /* AML strings are 7-bit ASCII */
	CHECK_AML_ERR(&a, 5, -EINVAL);
}

static void buffers(void)
{
	static const uint8_t data[] = { 1, 2, 3 };
	struct aml a;

	aml_init(&a);
	aml_name_def(&a, "B0");
	aml_buffer(&a, NULL, 0);
	aml_name_def(&a, "B1");
	aml_buffer(&a, data, sizeof(data));
	CHECK_AML(&a, buffer_aml);
}

static void packages(void)
{
	static const uint8_t seven[] = { 7 };
	struct aml a;
	size_t p, q;

	aml_init(&a);
	aml_name_def(&a, "_S5");
	p = aml_package_begin(&a);
	aml_int(&a, 5);
	aml_int(&a, 5);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_end(&a, p);
	aml_name_def(&a, "P");
	p = aml_package_begin(&a);
	aml_int(&a, 1);
	q = aml_package_begin(&a);
	aml_string(&a, "x");
	aml_end(&a, q);
	aml_buffer(&a, seven, sizeof(seven));
	aml_end(&a, p);
	CHECK_AML(&a, package_aml);
}

static void package_too_many_elements(void)
{
	struct aml a;
	size_t p;

	aml_init(&a);
	aml_name_def(&a, "P");
	p = aml_package_begin(&a);
	for (int i = 0; i < 256; i++) /* NumElements is one byte */
		aml_int(&a, 0);
	aml_end(&a, p);
	CHECK_AML_ERR(&a, 6 + 256, -E2BIG);
}

static void eisaid(void)
{
	struct aml a;

	aml_init(&a);
	aml_name_def(&a, "H0");
	aml_eisaid(&a, "PNP0C80");
	aml_name_def(&a, "H1");
	aml_eisaid(&a, "PNP0A06");
	CHECK_AML(&a, eisaid_aml);

	aml_init(&a);
	aml_name_def(&a, "H2");
	aml_eisaid(&a, "PNP0c80");
	CHECK_AML_ERR(&a, 5, -EINVAL);
	aml_init(&a);
	aml_name_def(&a, "H2");
	aml_eisaid(&a, "PNP0C8");
	CHECK_AML_ERR(&a, 5, -EINVAL);
}

static void name_segments(void)
{
	struct aml a;
	size_t s;

	aml_init(&a);
	aml_name_def(&a, "X");
	aml_int(&a, 1);
	aml_name_def(&a, "_UID");
	aml_int(&a, 10);
	CHECK_AML(&a, name_seg_aml);

	aml_init(&a);
	s = aml_scope_begin(&a, "\\");
	aml_name_def(&a, "Z");
	aml_int(&a, 3);
	aml_end(&a, s);
	CHECK_AML(&a, name_root_aml);
}

static void name_paths(void)
{
	struct aml a;
	size_t m, s, d, e;

	aml_init(&a);
	aml_name_def(&a, "_SB.Y");
	aml_int(&a, 1);
	m = aml_method_begin(&a, "M", 0, false);
	aml_op(&a, AML_RETURN);
	aml_name(&a, "\\_SB.Y");
	aml_end(&a, m);
	CHECK_AML(&a, name_dual_aml);

	aml_init(&a);
	s = aml_scope_begin(&a, "_SB");
	d = aml_device_begin(&a, "PCI0");
	aml_name_def(&a, "_HID");
	aml_string(&a, "PNP0A03");
	e = aml_device_begin(&a, "ISA");
	aml_name_def(&a, "_ADR");
	aml_int(&a, 0x10000);
	aml_end(&a, e);
	aml_end(&a, d);
	aml_end(&a, s);
	aml_name_def(&a, "_SB.PCI0.ISA.W");
	aml_int(&a, 1);
	s = aml_scope_begin(&a, "_SB.PCI0");
	aml_name_def(&a, "^P");
	aml_int(&a, 1);
	aml_name_def(&a, "^^Q");
	aml_int(&a, 2);
	aml_end(&a, s);
	CHECK_AML(&a, name_multi_parent_aml);
}

static void bad_names(void)
{
	static const char *const bad[] = {
		"",	 "x",	  "ABCDE", "1ABC", "A..B", "A.",   ".A",
		"^",	 "\\^A",  "^\\A",  "A-B",  "\\\\", "A B",
	};
	struct aml a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&a);
		aml_name(&a, bad[i]);
		if (aml_finish(&a) != -EINVAL || a.len)
			UNIT_FAIL("name \"%s\" accepted: err %d, %zu bytes",
				  bad[i], a.err, a.len);
		aml_free(&a);
	}
}

static void scope_and_device(void)
{
	struct aml a;
	size_t s, d;

	aml_init(&a);
	s = aml_scope_begin(&a, "_SB");
	d = aml_device_begin(&a, "C000");
	aml_name_def(&a, "_HID");
	aml_string(&a, "ACPI0007");
	aml_name_def(&a, "_UID");
	aml_int(&a, 0);
	aml_end(&a, d);
	aml_end(&a, s);
	CHECK_AML(&a, scope_device_aml);
}

static void methods(void)
{
	struct aml a;
	size_t m;

	aml_init(&a);
	m = aml_method_begin(&a, "MSCN", 0, true);
	aml_op(&a, AML_RETURN);
	aml_int(&a, 1);
	aml_end(&a, m);
	m = aml_method_begin(&a, "M2", 3, false);
	aml_op(&a, AML_RETURN);
	aml_arg(&a, 2);
	aml_end(&a, m);
	m = aml_method_begin(&a, "M7", 7, true);
	aml_op(&a, AML_RETURN);
	aml_arg(&a, 6);
	aml_end(&a, m);
	CHECK_AML(&a, method_aml);

	aml_init(&a);
	aml_method_begin(&a, "M8", 8, false);
	CHECK_AML_ERR(&a, 0, -EINVAL);
}

static void region_and_fields(void)
{
	struct aml a;
	size_t f;

	aml_init(&a);
	aml_op_region(&a, "HPMR", AML_SPACE_IO, 0xa00, 0x18);
	f = aml_field_begin(&a, "HPMR", AML_DWORD_ACC, false, AML_PRESERVE);
	aml_field_unit(&a, "MRBL", 32);
	aml_field_unit(&a, "MRBH", 32);
	aml_field_unit(&a, "MRLL", 32);
	aml_field_unit(&a, "MRLH", 32);
	aml_field_unit(&a, "MPX", 32);
	aml_end(&a, f);
	f = aml_field_begin(&a, "HPMR", AML_BYTE_ACC, false, AML_WRITE_AS_ZEROS);
	aml_field_offset(&a, 0x14);
	aml_field_unit(&a, "MES", 1);
	aml_field_unit(&a, "MINS", 1);
	aml_field_unit(&a, "MRMV", 1);
	aml_field_unit(&a, "MEJ", 1);
	aml_end(&a, f);
	f = aml_field_begin(&a, "HPMR", AML_DWORD_ACC, true, AML_WRITE_AS_ONES);
	aml_field_unit(&a, "MSEL", 32);
	aml_field_reserved(&a, 3);
	aml_field_unit(&a, "MOEV", 5);
	aml_field_offset(&a, 0x10);
	aml_field_unit(&a, "MOSC", 32);
	aml_end(&a, f);
	CHECK_AML(&a, field_aml);

	aml_init(&a);
	aml_op_region(&a, "R", AML_SPACE_MEMORY, 0xfed00000, 0x400);
	f = aml_field_begin(&a, "R", AML_ANY_ACC, false, AML_PRESERVE);
	aml_field_offset(&a, 0);
	aml_field_reserved(&a, 200);
	aml_field_unit(&a, "F1", 4096);
	aml_field_unit(&a, "F2", 8);
	aml_end(&a, f);
	CHECK_AML(&a, field_wide_aml);
}

static void field_misuse(void)
{
	struct aml a;
	size_t f;

	/* Offset going backwards */
	aml_init(&a);
	f = aml_field_begin(&a, "R", AML_BYTE_ACC, false, AML_PRESERVE);
	aml_field_unit(&a, "A", 16);
	aml_field_offset(&a, 1);
	aml_end(&a, f);
	CHECK_AML_ERR(&a, 2 + 4 + 1 + 5, -EINVAL);

	/* a term inside a Field, a path or zero width as a field unit */
	aml_init(&a);
	aml_field_begin(&a, "R", AML_BYTE_ACC, false, AML_PRESERVE);
	aml_int(&a, 1);
	CHECK_AML_ERR(&a, 2 + 4 + 1, -EINVAL);
	aml_init(&a);
	aml_field_begin(&a, "R", AML_BYTE_ACC, false, AML_PRESERVE);
	aml_field_unit(&a, "\\A", 8);
	CHECK_AML_ERR(&a, 2 + 4 + 1, -EINVAL);
	aml_init(&a);
	aml_field_begin(&a, "R", AML_BYTE_ACC, false, AML_PRESERVE);
	aml_field_unit(&a, "A", 0);
	CHECK_AML_ERR(&a, 2 + 4 + 1, -EINVAL);

	/* field elements outside a Field */
	aml_init(&a);
	aml_field_reserved(&a, 8);
	CHECK_AML_ERR(&a, 0, -EINVAL);
}

static void mutexes(void)
{
	struct aml a;
	size_t m;

	aml_init(&a);
	aml_mutex(&a, "MLCK", 0);
	aml_mutex(&a, "M2", 15);
	m = aml_method_begin(&a, "M", 0, false);
	aml_acquire(&a, "MLCK", 0xffff);
	aml_release(&a, "MLCK");
	aml_acquire(&a, "M2", 5);
	aml_release(&a, "M2");
	aml_end(&a, m);
	CHECK_AML(&a, mutex_aml);

	aml_init(&a);
	aml_mutex(&a, "M3", 16);
	CHECK_AML_ERR(&a, 0, -EINVAL);
}

static void if_else(void)
{
	struct aml a;
	size_t m, i, e;

	aml_init(&a);
	m = aml_method_begin(&a, "M", 2, false);
	i = aml_if_begin(&a);
	aml_op(&a, AML_LAND);
	aml_op(&a, AML_LEQUAL);
	aml_arg(&a, 0);
	aml_int(&a, 1);
	aml_op(&a, AML_LNOT);
	aml_arg(&a, 1);
	aml_op(&a, AML_RETURN);
	aml_int(&a, 1);
	aml_end(&a, i);
	e = aml_else_begin(&a);
	aml_op(&a, AML_RETURN);
	aml_int(&a, 0);
	aml_end(&a, e);
	aml_end(&a, m);
	CHECK_AML(&a, if_else_aml);
}

static void else_needs_if(void)
{
	struct aml a;
	size_t m, i;

	/* something between the If and the Else */
	aml_init(&a);
	m = aml_method_begin(&a, "M", 1, false);
	i = aml_if_begin(&a);
	aml_arg(&a, 0);
	aml_end(&a, i);
	aml_op(&a, AML_RETURN);
	aml_int(&a, 1);
	aml_else_begin(&a);
	aml_end(&a, m);
	CHECK_AML_ERR(&a, 11, -EINVAL);

	/* no If at all */
	aml_init(&a);
	m = aml_method_begin(&a, "M", 0, false);
	aml_else_begin(&a);
	CHECK_AML_ERR(&a, 6, -EINVAL);
}

static void while_loop(void)
{
	struct aml a;
	size_t m, w;

	aml_init(&a);
	m = aml_method_begin(&a, "M", 0, false);
	aml_op(&a, AML_STORE);
	aml_int(&a, 0);
	aml_local(&a, 0);
	w = aml_while_begin(&a);
	aml_op(&a, AML_LLESS);
	aml_local(&a, 0);
	aml_int(&a, 8);
	aml_op(&a, AML_INCREMENT);
	aml_local(&a, 0);
	aml_end(&a, w);
	aml_op(&a, AML_RETURN);
	aml_local(&a, 0);
	aml_end(&a, m);
	CHECK_AML(&a, while_aml);
}

static void arithmetic(void)
{
	struct aml a;
	size_t m;

	aml_init(&a);
	m = aml_method_begin(&a, "M", 1, false);
	aml_op(&a, AML_STORE);
	aml_int(&a, 1);
	aml_local(&a, 0);
	aml_op(&a, AML_ADD);
	aml_local(&a, 0);
	aml_int(&a, 5);
	aml_local(&a, 1);
	aml_op(&a, AML_SHIFT_LEFT);
	aml_local(&a, 1);
	aml_int(&a, 3);
	aml_local(&a, 2);
	aml_op(&a, AML_INCREMENT);
	aml_local(&a, 0);
	aml_op(&a, AML_SUBTRACT);
	aml_local(&a, 2);
	aml_local(&a, 0);
	aml_local(&a, 3);
	aml_op(&a, AML_AND);
	aml_local(&a, 3);
	aml_int(&a, 0xff);
	aml_local(&a, 4);
	aml_op(&a, AML_OR);
	aml_local(&a, 4);
	aml_int(&a, 0x100);
	aml_local(&a, 5);
	aml_op(&a, AML_STORE);
	aml_op(&a, AML_ADD);
	aml_local(&a, 5);
	aml_arg(&a, 0);
	aml_no_target(&a);
	aml_local(&a, 6);
	aml_op(&a, AML_RETURN);
	aml_local(&a, 6);
	aml_end(&a, m);
	CHECK_AML(&a, arith_aml);
}

static void locals_and_args_range(void)
{
	struct aml a;

	aml_init(&a);
	aml_op(&a, AML_RETURN);
	aml_local(&a, 7);
	CHECK_AML(&a, ((const uint8_t[]){ 0xa4, 0x67 }));
	aml_init(&a);
	aml_op(&a, AML_RETURN);
	aml_local(&a, 8);
	CHECK_AML_ERR(&a, 1, -EINVAL);
	aml_init(&a);
	aml_op(&a, AML_RETURN);
	aml_arg(&a, 7);
	CHECK_AML_ERR(&a, 1, -EINVAL);
}

static void notify(void)
{
	struct aml a;
	size_t d, m;

	aml_init(&a);
	d = aml_device_begin(&a, "MP00");
	aml_name_def(&a, "_HID");
	aml_eisaid(&a, "PNP0C80");
	aml_end(&a, d);
	m = aml_method_begin(&a, "M", 1, false);
	aml_op(&a, AML_NOTIFY);
	aml_name(&a, "MP00");
	aml_int(&a, 3);
	aml_op(&a, AML_NOTIFY);
	aml_name(&a, "MP00");
	aml_arg(&a, 0);
	aml_end(&a, m);
	CHECK_AML(&a, notify_aml);
}

static void method_calls(void)
{
	struct aml a;
	size_t s, m;

	aml_init(&a);
	s = aml_scope_begin(&a, "_SB");
	m = aml_method_begin(&a, "MTFY", 2, false);
	aml_op(&a, AML_RETURN);
	aml_arg(&a, 1);
	aml_end(&a, m);
	aml_end(&a, s);
	m = aml_method_begin(&a, "M", 0, false);
	aml_call(&a, "\\_SB.MTFY", 2);
	aml_int(&a, 1);
	aml_int(&a, 2);
	aml_op(&a, AML_STORE);
	aml_call(&a, "\\_SB.MTFY", 2);
	aml_int(&a, 3);
	aml_int(&a, 4);
	aml_local(&a, 7);
	aml_op(&a, AML_RETURN);
	aml_local(&a, 7);
	aml_end(&a, m);
	CHECK_AML(&a, call_aml);
}

static void create_fields(void)
{
	static const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct aml a;
	size_t m;

	aml_init(&a);
	aml_name_def(&a, "BUF");
	aml_buffer(&a, data, sizeof(data));
	m = aml_method_begin(&a, "M", 2, true);
	aml_op(&a, AML_CREATE_DWORD_FIELD);
	aml_name(&a, "BUF");
	aml_int(&a, 2);
	aml_name(&a, "DW");
	aml_op(&a, AML_CREATE_QWORD_FIELD);
	aml_name(&a, "BUF");
	aml_int(&a, 4);
	aml_name(&a, "QW");
	aml_op(&a, AML_CREATE_DWORD_FIELD);
	aml_arg(&a, 0);
	aml_arg(&a, 1);
	aml_name(&a, "DWA");
	aml_op(&a, AML_CREATE_QWORD_FIELD);
	aml_arg(&a, 0);
	aml_op(&a, AML_ADD);
	aml_arg(&a, 1);
	aml_int(&a, 38);
	aml_no_target(&a);
	aml_name(&a, "QWA");
	aml_op(&a, AML_STORE);
	aml_int(&a, 0x12345678);
	aml_name(&a, "DW");
	aml_op(&a, AML_RETURN);
	aml_name(&a, "QW");
	aml_end(&a, m);
	CHECK_AML(&a, create_field_aml);

	/* a named object is no operand */
	aml_init(&a);
	m = aml_method_begin(&a, "M", 0, true);
	aml_op(&a, AML_STORE);
	aml_op(&a, AML_CREATE_QWORD_FIELD);
	CHECK_AML_ERR(&a, 7, -EINVAL);
	/* nor a Package element */
	aml_init(&a);
	aml_name_def(&a, "P");
	aml_package_begin(&a);
	aml_op(&a, AML_CREATE_DWORD_FIELD);
	CHECK_AML_ERR(&a, 6, -EINVAL);
}

static void else_if(void)
{
	struct aml a;
	size_t m, i, e;

	aml_init(&a);
	m = aml_method_begin(&a, "M", 1, false);
	i = aml_if_begin(&a);
	aml_op(&a, AML_LEQUAL);
	aml_arg(&a, 0);
	aml_int(&a, 1);
	aml_op(&a, AML_RETURN);
	aml_int(&a, 2);
	aml_end(&a, i);
	/* ElseIf is an If alone in an Else */
	e = aml_else_begin(&a);
	i = aml_if_begin(&a);
	aml_op(&a, AML_LEQUAL);
	aml_arg(&a, 0);
	aml_int(&a, 3);
	aml_op(&a, AML_RETURN);
	aml_int(&a, 4);
	aml_end(&a, i);
	aml_end(&a, e);
	aml_op(&a, AML_RETURN);
	aml_int(&a, 0);
	aml_end(&a, m);
	CHECK_AML(&a, else_if_aml);
}

static void resource_io(void)
{
	struct aml a;
	size_t r;

	aml_init(&a);
	aml_name_def(&a, "R0");
	r = aml_restemplate_begin(&a);
	aml_res_io(&a, true, 0xa00, 0xa00, 1, 0x18);
	aml_res_io(&a, false, 0x60, 0x60, 0, 1);
	aml_end(&a, r);
	CHECK_AML(&a, io_aml);
}

static void resource_word_io(void)
{
	const struct aml_addr_space producer = {
		.flags = AML_RES_MIN_FIXED | AML_RES_MAX_FIXED,
		.type_flags = AML_IO_ENTIRE_RANGE,
		.min = 0xd00,
		.max = 0xffff,
		.length = 0xf300,
	};
	const struct aml_addr_space consumer = {
		.flags = AML_RES_CONSUMER | AML_RES_SUB_DECODE,
		.type_flags = AML_IO_ISA_ONLY,
		.granularity = 1,
		.min = 0x600,
		.max = 0x61f,
		.translation = 0x10,
		.length = 0x20,
	};
	struct aml_addr_space too_big = consumer;
	struct aml a;
	size_t r;

	aml_init(&a);
	aml_name_def(&a, "R1");
	r = aml_restemplate_begin(&a);
	aml_res_word_io(&a, &producer);
	aml_res_word_io(&a, &consumer);
	aml_end(&a, r);
	CHECK_AML(&a, word_io_aml);

	too_big.max = 0x10000;
	aml_init(&a);
	aml_name_def(&a, "R1");
	aml_restemplate_begin(&a);
	aml_res_word_io(&a, &too_big);
	CHECK_AML_ERR(&a, 6, -ERANGE);
}

static void resource_qword_memory(void)
{
	const struct aml_addr_space producer = {
		.flags = AML_RES_MIN_FIXED | AML_RES_MAX_FIXED,
		.type_flags = AML_MEM_CACHEABLE | AML_MEM_READ_WRITE,
		.min = 0x100000000,
		.max = 0x13fffffff,
		.length = 0x40000000,
	};
	const struct aml_addr_space consumer = {
		.flags = AML_RES_CONSUMER | AML_RES_SUB_DECODE,
		.type_flags = AML_MEM_PREFETCHABLE,
		.granularity = 0xfff,
		.min = 0x180000000,
		.max = 0x1bfffffff,
		.translation = 0x10,
		.length = 0x40000000,
	};
	struct aml a;
	size_t r;

	aml_init(&a);
	aml_name_def(&a, "R2");
	r = aml_restemplate_begin(&a);
	aml_res_qword_memory(&a, &producer);
	aml_res_qword_memory(&a, &consumer);
	aml_end(&a, r);
	CHECK_AML(&a, qword_memory_aml);
}

static void resource_template_empty(void)
{
	struct aml a;
	size_t r;

	aml_init(&a);
	aml_name_def(&a, "R3");
	r = aml_restemplate_begin(&a);
	aml_end(&a, r);
	CHECK_AML(&a, empty_template_aml);
}

static void resource_misuse(void)
{
	struct aml a;

	/* a descriptor outside a template, a term inside one */
	aml_init(&a);
	aml_res_io(&a, true, 0, 0, 0, 1);
	CHECK_AML_ERR(&a, 0, -EINVAL);
	aml_init(&a);
	aml_name_def(&a, "R");
	aml_restemplate_begin(&a);
	aml_int(&a, 1);
	CHECK_AML_ERR(&a, 6, -EINVAL);
}

static void missing_operand(void)
{
	struct aml a;
	size_t m;

	/* Store with one operand, then the method is closed */
	aml_init(&a);
	m = aml_method_begin(&a, "M", 0, false);
	aml_op(&a, AML_STORE);
	aml_int(&a, 1);
	aml_end(&a, m);
	CHECK_AML_ERR(&a, 8, -EINVAL);

	/* If without a predicate */
	aml_init(&a);
	m = aml_method_begin(&a, "M", 0, false);
	aml_end(&a, aml_if_begin(&a));
	CHECK_AML_ERR(&a, 7, -EINVAL);

	/* Name without a value at the end */
	aml_init(&a);
	aml_name_def(&a, "X");
	CHECK_AML_ERR(&a, 5, -EINVAL);
}

static void statement_as_operand(void)
{
	struct aml a;
	size_t m;

	aml_init(&a);
	m = aml_method_begin(&a, "M", 0, false);
	aml_op(&a, AML_STORE);
	aml_op(&a, AML_RETURN);
	aml_end(&a, m);
	CHECK_AML_ERR(&a, 7, -EINVAL);

	/* a Name inside a Package; NullName where no target is due */
	aml_init(&a);
	aml_name_def(&a, "P");
	aml_package_begin(&a);
	aml_name_def(&a, "Q");
	CHECK_AML_ERR(&a, 6, -EINVAL);
	aml_init(&a);
	m = aml_method_begin(&a, "M", 0, false);
	aml_no_target(&a);
	CHECK_AML_ERR(&a, 6, -EINVAL);
}

static void end_mismatch(void)
{
	struct aml a;
	size_t s, d;

	/* closing the outer construct while the inner one is open */
	aml_init(&a);
	s = aml_scope_begin(&a, "_SB");
	d = aml_device_begin(&a, "D");
	aml_end(&a, s);
	CHECK_AML_ERR(&a, 11, -EINVAL);

	/* unbalanced: nothing open */
	aml_init(&a);
	s = aml_scope_begin(&a, "_SB");
	aml_end(&a, s);
	aml_end(&a, s);
	CHECK_AML_ERR(&a, 6, -EINVAL);

	/* still open at the end */
	aml_init(&a);
	s = aml_scope_begin(&a, "_SB");
	d = aml_device_begin(&a, "D");
	aml_end(&a, d);
	CHECK_AML_ERR(&a, 12, -EINVAL);
}

static void first_error_sticks(void)
{
	struct aml a;
	size_t s;

	aml_init(&a);
	s = aml_scope_begin(&a, "_SB");
	aml_name(&a, "bad");	   /* -EINVAL */
	aml_mutex(&a, "M", 99);	   /* would be -EINVAL too */
	aml_res_io(&a, 0, 0, 0, 0, 0); /* and this */
	aml_end(&a, s);
	aml_int(&a, 7);
	CHECK_EQ(a.err, -EINVAL);
	CHECK_AML_ERR(&a, 5, -EINVAL);

	/* a different first error is the one reported */
	aml_init(&a);
	aml_name_def(&a, "P");
	s = aml_package_begin(&a);
	for (int i = 0; i < 300; i++)
		aml_int(&a, 0);
	aml_end(&a, s);	  /* -E2BIG */
	aml_name(&a, "?"); /* -EINVAL, ignored */
	CHECK_AML_ERR(&a, 6 + 300, -E2BIG);
}

static void nesting_limit(void)
{
	struct aml a;

	aml_init(&a);
	for (int i = 0; i < AML_MAX_DEPTH + 1; i++)
		aml_scope_begin(&a, "S");
	CHECK_AML_ERR(&a, AML_MAX_DEPTH * 5 + 1, -E2BIG);
}

UNIT_MAIN(UNIT_CASE(pkglen_encode_boundaries), UNIT_CASE(pkglen_self_inclusive),
	  UNIT_CASE(pkglen_three_and_four_bytes), UNIT_CASE(integers),
	  UNIT_CASE(strings), UNIT_CASE(buffers), UNIT_CASE(packages),
	  UNIT_CASE(package_too_many_elements), UNIT_CASE(eisaid),
	  UNIT_CASE(name_segments), UNIT_CASE(name_paths),
	  UNIT_CASE(bad_names), UNIT_CASE(scope_and_device),
	  UNIT_CASE(methods), UNIT_CASE(region_and_fields),
	  UNIT_CASE(field_misuse), UNIT_CASE(mutexes), UNIT_CASE(if_else),
	  UNIT_CASE(else_needs_if), UNIT_CASE(while_loop),
	  UNIT_CASE(arithmetic), UNIT_CASE(locals_and_args_range),
	  UNIT_CASE(notify), UNIT_CASE(method_calls), UNIT_CASE(create_fields),
	  UNIT_CASE(else_if), UNIT_CASE(resource_io),
	  UNIT_CASE(resource_word_io), UNIT_CASE(resource_qword_memory),
	  UNIT_CASE(resource_template_empty), UNIT_CASE(resource_misuse),
	  UNIT_CASE(missing_operand), UNIT_CASE(statement_as_operand),
	  UNIT_CASE(end_mismatch), UNIT_CASE(first_error_sticks),
	  UNIT_CASE(nesting_limit))
