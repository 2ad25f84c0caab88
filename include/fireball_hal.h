/* fireball_hal.h: GPIO pins, I2C and SPI buses for Fireball guests, as typed
 * key-value requests to "hal/gpio/<n>", "hal/i2c/<n>", "hal/spi/<n>" through
 * the router (sys_request): the module's manifest must grant the endpoint.
 * Static inline functions over fireball.h and fireball_kv.h; no libc, C99.
 *
 *   int pressed = fb_gpio_read("hal/gpio/0", 1) == 0;   // the button pulls its pin low
 *   fb_gpio_write("hal/gpio/0", 0, pressed);             // the LED follows it
 *   uint8_t reg = 0x00, t[2];
 *   int n = fb_i2c_write_read("hal/i2c/0", 0x48, &reg, 1, t, 2);   // 2 or an FB_ERR_*
 *
 * Every function returns >= 0 on success (a level, a byte count) or an
 * FB_ERR_* (FB_ERR_DENIED, FB_ERR_NO_DEVICE, FB_ERR_NOT_SUPPORTED for a device
 * without that capability, FB_ERR_NO_ACKNOWLEDGE from an absent I2C target…). */
#ifndef FIREBALL_HAL_H
#define FIREBALL_HAL_H

#include "fireball.h"
#include "fireball_kv.h"

/* Sends op with the entries already in w to uri; the reply goes to r. */
static inline int fb_hal__send(const char *uri, fkv_writer *w, uint8_t *r, int cap) {
    int len = fkv_writer_finish(w);
    if (len < 0) return FB_ERR_TOO_LONG;
    return fb_request(uri, w->buf, len, r, cap);
}

/* The DATA entry of reply r[0..n) into dst[0..cap): its length, or an FB_ERR_*. */
static inline int fb_hal__data(const uint8_t *r, int n, void *dst, int cap) {
    fkv_reader rd;
    fkv_entry e;
    if (n < 0) return n;
    if (fkv_reader_init(&rd, r, (uint32_t)n) < 0) return FB_ERR_BAD_MESSAGE;
    while (fkv_next(&rd, &e) > 0) {
        if (e.key == FB_KEY_DATA && e.type == FKV_BYTES) {
            uint32_t len = e.v.bytes.len;
            if ((int)len > cap) return FB_ERR_TOO_LONG;
            for (uint32_t i = 0; i < len; i++) ((uint8_t *)dst)[i] = e.v.bytes.ptr[i];
            return (int)len;
        }
    }
    return FB_ERR_BAD_MESSAGE;
}

/* The level of pin `pin` of the GPIO device at uri: 0 (low), 1 (high) or an FB_ERR_*. */
static inline int fb_gpio_read(const char *uri, int pin) {
    uint8_t q[16], r[8];
    fkv_writer w;
    fkv_entry e;
    fkv_reader rd;
    fkv_writer_init(&w, q, sizeof q);
    fkv_put_u32(&w, FB_REQ_KEY_OP, FB_REQ_READ);
    fkv_put_u32(&w, FB_KEY_PIN, (uint32_t)pin);
    int n = fb_hal__send(uri, &w, r, sizeof r);
    if (n < 0) return n;
    if (fkv_reader_init(&rd, r, (uint32_t)n) < 0) return FB_ERR_BAD_MESSAGE;
    while (fkv_next(&rd, &e) > 0)
        if (e.key == FB_KEY_LEVEL && e.type == FKV_BOOL) return e.v.b ? 1 : 0;
    return FB_ERR_BAD_MESSAGE;
}

/* Drives pin `pin` of the GPIO device at uri high (level != 0) or low: 0 or an FB_ERR_*. */
static inline int fb_gpio_write(const char *uri, int pin, int level) {
    uint8_t q[16], r[4];
    fkv_writer w;
    fkv_writer_init(&w, q, sizeof q);
    fkv_put_u32(&w, FB_REQ_KEY_OP, FB_REQ_WRITE);
    fkv_put_u32(&w, FB_KEY_PIN, (uint32_t)pin);
    fkv_put_bool(&w, FB_KEY_LEVEL, level != 0);
    int n = fb_hal__send(uri, &w, r, sizeof r);
    return n < 0 ? n : 0;
}

/* Writes data[0..len) to the I2C target `addr` (7-bit): 0 or an FB_ERR_*. */
static inline int fb_i2c_write(const char *uri, int addr, const void *data, int len) {
    uint8_t q[16 + FB_MAX_TRANSFER], r[4];
    fkv_writer w;
    if (len < 0 || len > FB_MAX_TRANSFER) return FB_ERR_TOO_LONG;
    fkv_writer_init(&w, q, sizeof q);
    fkv_put_u32(&w, FB_REQ_KEY_OP, FB_REQ_WRITE);
    fkv_put_u32(&w, FB_KEY_ADDRESS, (uint32_t)addr);
    fkv_put_bytes(&w, FB_KEY_DATA, data, (uint32_t)len);
    int n = fb_hal__send(uri, &w, r, sizeof r);
    return n < 0 ? n : 0;
}

/* Writes wr[0..wlen) to the I2C target `addr`, then (repeated start) reads
 * rd[0..rlen): the usual "read register". rlen, or an FB_ERR_*. */
static inline int fb_i2c_write_read(const char *uri, int addr, const void *wr, int wlen, void *rd, int rlen) {
    uint8_t q[24 + FB_MAX_TRANSFER], r[8 + FB_MAX_TRANSFER];
    fkv_writer w;
    if (wlen < 0 || wlen > FB_MAX_TRANSFER || rlen < 0 || rlen > FB_MAX_TRANSFER) return FB_ERR_TOO_LONG;
    fkv_writer_init(&w, q, sizeof q);
    fkv_put_u32(&w, FB_REQ_KEY_OP, FB_REQ_TRANSFER);
    fkv_put_u32(&w, FB_KEY_ADDRESS, (uint32_t)addr);
    fkv_put_bytes(&w, FB_KEY_DATA, wr, (uint32_t)wlen);
    fkv_put_u32(&w, FB_KEY_LEN, (uint32_t)rlen);
    return fb_hal__data(r, fb_hal__send(uri, &w, r, sizeof r), rd, rlen);
}

/* Exchanges buf[0..len) with the SPI device at uri (full duplex, in place): len or an FB_ERR_*. */
static inline int fb_spi_transfer(const char *uri, void *buf, int len) {
    uint8_t q[16 + FB_MAX_TRANSFER], r[8 + FB_MAX_TRANSFER];
    fkv_writer w;
    if (len < 0 || len > FB_MAX_TRANSFER) return FB_ERR_TOO_LONG;
    fkv_writer_init(&w, q, sizeof q);
    fkv_put_u32(&w, FB_REQ_KEY_OP, FB_REQ_TRANSFER);
    fkv_put_bytes(&w, FB_KEY_DATA, buf, (uint32_t)len);
    return fb_hal__data(r, fb_hal__send(uri, &w, r, sizeof r), buf, len);
}

#endif /* FIREBALL_HAL_H */
