/* Just enough of the PC keyboard controller for the oldest reboot path:
 * command 0xfe on port 0x64 pulses the CPU reset line. The status port
 * reads "buffers empty" so a guest's wait loop ends at once. */
#ifndef MEMPLUG_DEVICES_I8042_H
#define MEMPLUG_DEVICES_I8042_H

#include "devices/bus.h"

struct i8042 {
	void (*reset)(void *ctx);
	void *ctx;
};

extern const struct bus_ops i8042_data_ops; /* port 0x60, 1 byte */
extern const struct bus_ops i8042_cmd_ops;  /* port 0x64, 1 byte */

#endif
