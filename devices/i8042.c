#include "devices/i8042.h"

#define I8042_CMD_RESET 0xfe

static void i8042_read_zero(void *dev, uint64_t off, uint8_t *data,
			    unsigned int size)
{
	(void)dev;
	(void)off;
	for (unsigned int i = 0; i < size; i++)
		data[i] = 0;
}

static void i8042_cmd_write(void *dev, uint64_t off, const uint8_t *data,
			    unsigned int size)
{
	struct i8042 *k = dev;

	(void)off;
	if (size == 1 && data[0] == I8042_CMD_RESET && k->reset)
		k->reset(k->ctx);
}

const struct bus_ops i8042_data_ops = {
	.read = i8042_read_zero,
};

const struct bus_ops i8042_cmd_ops = {
	.read = i8042_read_zero,
	.write = i8042_cmd_write,
};
