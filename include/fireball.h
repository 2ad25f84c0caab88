/*
 * fireball.h: the guest ABI of Fireball for C guests, in one header.
 *
 * Every function the runtime offers a guest, declared as the wasm import it
 * is (module "env", all parameters and results i32, pointers are offsets
 * into the guest's own linear memory), the error codes they return, and a
 * few static inline helpers. C99, no libc needed. The Rust twin is the
 * crate crates/fireball-guest; the error table is the runtime's HalError
 * (crates/fireball-sys/src/hal/mod.rs), and
 * crates/fireball-sys/tests/guest_header.rs checks that the two agree.
 *
 * The declarations use exactly the C types of the seed programs, which
 * declare their imports themselves (`extern int hal_adc_read(int channel);`,
 * `extern int hal_tx_send(const uint8_t* data, int len);`, `extern void
 * ch_send(int ch_id, int value);`): such a program compiles unchanged with
 * or without this header, and a redeclaration keeps the import attributes.
 *
 * ---- Building a guest (clang 14 + wasi-libc) ---------------------------
 *
 * Debian: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
 * (clang finds wasi-libc in /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi
 * by itself, no --sysroot). An app with main():
 *
 *   clang --target=wasm32-wasi -O2 -Wl,--allow-undefined \
 *         -Wl,-z,stack-size=4096 -Wl,--initial-memory=65536 \
 *         -Wl,--stack-first -Wl,--export=__heap_base \
 *         -Wl,--strip-all -o app.wasm app.c
 *
 *   --target=wasm32-wasi       wasm32 code linked against wasi-libc: its
 *                              _start runs the constructors, then main().
 *   -Wl,--allow-undefined      a function declared but not defined (the seed
 *                              programs' `extern int hal_adc_read(int);`)
 *                              becomes an import from module "env" instead
 *                              of a link error. This header's declarations
 *                              name their import explicitly and need no flag.
 *   -Wl,-z,stack-size=4096     the C shadow stack (locals whose address is
 *                              taken, arrays, spills) is 4 KiB; the linker's
 *                              default is 64 KiB, a whole small device.
 *   -Wl,--stack-first          puts that stack at the bottom of linear memory,
 *                              below the data: it grows down towards address
 *                              0, so an overflow runs off the memory's start
 *                              and traps, instead of silently overwriting
 *                              the data that would otherwise lie below it.
 *   -Wl,--initial-memory=65536 one 64 KiB page, the least wasm32 clang emits.
 *                              The runtime backs only what the device's guest
 *                              partition allows (`fireball run --ram`), and an
 *                              access past that traps; what a guest really
 *                              needs is its data + stack, which
 *                              `fireball inspect app.wasm` prints.
 *   -Wl,--export=__heap_base   exports where the data ends, zero-initialised
 *                              globals included (they have no data segment):
 *                              without it the runtime sees only the stack and
 *                              the initialised data, and may back too little.
 *   -Wl,--strip-all            no names or debug sections: smaller flash.
 *
 * wasi-libc's _start calls exit() when main returns, so an app also imports
 * wasi_snapshot_preview1.proc_exit; a guest that loops forever never calls it.
 *
 * A service (no main, an exported entry function the runtime calls):
 *
 *   clang --target=wasm32-wasi -O2 -nostartfiles -Wl,--no-entry \
 *         -Wl,--export=service_main -Wl,--allow-undefined \
 *         -Wl,-z,stack-size=4096 -Wl,--initial-memory=65536 \
 *         -Wl,--stack-first -Wl,--export=__heap_base \
 *         -Wl,--strip-all -o svc.wasm svc.c
 *
 *   -nostartfiles              no crt1.o, so no _start and no main needed.
 *   -Wl,--no-entry             no entry symbol expected either.
 *   -Wl,--export=<entry>       export the entry (`void service_main(void)`).
 *
 * A freestanding guest, no wasi-libc at all (no printf, malloc, memcpy; only
 * compiler built-ins and this header), adds -nostdlib -ffreestanding and
 * uses --target=wasm32. -ffreestanding also stops clang from turning loops
 * into memcpy/memset calls nobody defines:
 *
 *   clang --target=wasm32 -O2 -nostdlib -ffreestanding -Wl,--no-entry \
 *         -Wl,--export=run -Wl,-z,stack-size=4096 -Wl,--stack-first \
 *         -Wl,--initial-memory=65536 -Wl,--export=__heap_base \
 *         -Wl,--strip-all -o run.wasm run.c
 *
 * clang 14 emits MVP wasm only, which Fireball runs as it is.
 *
 * ---- Errors ------------------------------------------------------------
 *
 * A negative result is an FB_ERR_* code (the same table for every import
 * below except the buf_* ones, which have their own, FB_BUF_ERR_*):
 *
 *   code  name              meaning
 *    -1   NO_DEVICE         no device has the capability, path or id asked for
 *    -2   NOT_SUPPORTED     the device lacks that operation or configuration key
 *    -3   BAD_CHANNEL       channel, pin or index out of the device's range
 *    -4   INVALID_ARGUMENT  a value the operation cannot take (negative length,
 *                           a pointer range outside linear memory, bad profile)
 *    -5   NOT_INITIALIZED   used before its init (hal_ble_send before hal_ble_init)
 *    -6   BUSY              device or bus busy; retrying later may work
 *    -7   BUS_ERROR         the transfer failed on the wire or in the peripheral
 *    -8   NO_ACKNOWLEDGE    an I2C address or byte was not acknowledged
 *    -9   TOO_LONG          the frame is longer than the device's maximum
 *   -10   TIMEOUT           the device did not answer in time
 *   -11   DENIED            the module's manifest does not grant that endpoint
 *                           (the runtime logs the attempt)
 *   -12   BAD_MESSAGE       a malformed key-value message
 *
 * Codes are stable: new errors get new codes, old ones never move.
 */
#ifndef FIREBALL_H
#define FIREBALL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One wasm import from module "env" under its own name. */
#define FB__IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* ---- error codes (one regular form per line: #define FB_ERR_<NAME> (<code>)) ---- */

#define FB_OK 0
#define FB_ERR_NO_DEVICE (-1)
#define FB_ERR_NOT_SUPPORTED (-2)
#define FB_ERR_BAD_CHANNEL (-3)
#define FB_ERR_INVALID_ARGUMENT (-4)
#define FB_ERR_NOT_INITIALIZED (-5)
#define FB_ERR_BUSY (-6)
#define FB_ERR_BUS_ERROR (-7)
#define FB_ERR_NO_ACKNOWLEDGE (-8)
#define FB_ERR_TOO_LONG (-9)
#define FB_ERR_TIMEOUT (-10)
#define FB_ERR_DENIED (-11)
#define FB_ERR_BAD_MESSAGE (-12)

/* The buf_* imports' own codes (the kernel's ownership registry). */
#define FB_BUF_ERR_CLOSED (-1)     /* channel closed, port not granted, or a bad destination */
#define FB_BUF_ERR_FULL (-2)       /* the ownership table is full */
#define FB_BUF_ERR_NO_MEMORY (-3)  /* the buffer's bytes do not fit the kernel's pool */
#define FB_BUF_ERR_BAD_HANDLE (-4) /* no such handle (or a stale one), or bad source bytes */
#define FB_BUF_ERR_NOT_OWNER (-5)  /* the caller does not own the handle (it sent it) */

/* ---- kernel (COOS): channels, yielding, owned buffers -------------------- */

/* Channel ports a module may use: 0 .. FB_PORTS - 1 (the runtime maps each
 * to a kernel channel; a port it did not grant is refused and logged). */
#define FB_PORTS 8

/* Sends `value` on port `ch`; blocks while the channel is full (a yield point). */
FB__IMPORT(ch_send) void ch_send(int ch, int value);
/* Blocks until a value arrives on port `ch` and stores it at *value. On a
 * refused port it returns at once and stores nothing. */
FB__IMPORT(ch_recv) void ch_recv(int ch, int *value);
/* Ends this time slice; the task runs again when the scheduler comes back. */
FB__IMPORT(co_yield) void co_yield(void);
/* Copies data[0..len) into a buffer the kernel owns for this module: its
 * handle (> 0) or an FB_BUF_ERR_* code. */
FB__IMPORT(buf_create) int buf_create(const void *data, int len);
/* Moves the buffer to whoever receives on port `ch`: 0 or an FB_BUF_ERR_*.
 * After 0 the handle is no longer this module's. */
FB__IMPORT(buf_send) int buf_send(int ch, int handle);
/* Blocks until a buffer arrives on port `ch`: its handle (now ours) or an FB_BUF_ERR_*
 * (FB_BUF_ERR_BAD_HANDLE if what arrived was a plain ch_send value, which is consumed). */
FB__IMPORT(buf_recv) int buf_recv(int ch);
/* Copies the first min(length, cap) bytes of an owned buffer to dst: the
 * buffer's full length (more than cap: the copy was cut) or an FB_BUF_ERR_*. */
FB__IMPORT(buf_read) int buf_read(int handle, void *dst, int cap);
/* Frees an owned buffer: 0 or an FB_BUF_ERR_*. */
FB__IMPORT(buf_release) int buf_release(int handle);

/* ---- HAL --------------------------------------------------------------- */

/* One sample, 0..65535, of ADC channel `channel` (channels are numbered
 * across the board's ADCs), or an FB_ERR_*. */
FB__IMPORT(hal_adc_read) int hal_adc_read(int channel);
/* Sends a frame on the board's transmitter: len, or an FB_ERR_*. */
FB__IMPORT(hal_tx_send) int hal_tx_send(const uint8_t *data, int len);
/* Milliseconds since boot modulo 2^31 (wraps after 24.8 days); -11 (FB_ERR_DENIED)
   if the manifest does not grant the module hal/clock, no other negative value. */
FB__IMPORT(hal_get_time_ms) int hal_get_time_ms(void);
/* Starts BLE with a profile: 0 or an FB_ERR_*. */
FB__IMPORT(hal_ble_init) int hal_ble_init(int profile_id);
/* Sends a BLE payload: len, or an FB_ERR_* (FB_ERR_NOT_INITIALIZED before hal_ble_init). */
FB__IMPORT(hal_ble_send) int hal_ble_send(const uint8_t *data, int len);

/* HAL configuration keys (one byte each), for sys_request messages to a
 * "hal/<path>" endpoint; a device accepts only some (FB_ERR_NOT_SUPPORTED). */
#define FB_KEY_CHANNELS 0x01  /* number of channels, pins or lines (get; u32) */
#define FB_KEY_BITS 0x02      /* ADC resolution in bits, 1..16 (get/set; integer) */
#define FB_KEY_MAX_FRAME 0x03 /* largest frame or payload in bytes (get/set; integer) */
#define FB_KEY_PROFILE 0x04   /* BLE profile in use (get; u32) */
#define FB_KEY_ADDRESS 0x05   /* 7-bit I2C address (get/set; integer 0..127) */
#define FB_KEY_NOW_MS 0x06    /* current time in milliseconds (get; i64) */
#define FB_KEY_COUNT 0x07     /* frames sent or transfers done so far (get; u32) */
#define FB_KEY_PIN 0x08       /* a GPIO pin number (READ/WRITE requests; integer 0..255) */
#define FB_KEY_LEVEL 0x09     /* a pin's level, 1 = high (GPIO WRITE request, READ reply; bool) */
#define FB_KEY_DATA 0x0A      /* bytes written (request) or read (reply) by I2C/SPI (bytes) */
#define FB_KEY_LEN 0x0B       /* bytes an I2C/SPI READ or TRANSFER reads (integer, <= FB_MAX_TRANSFER) */
#define FB_KEY_OFFSET 0x0C    /* where a storage device's next sys_read/sys_write starts (get/set; integer) */

/* ---- logger ------------------------------------------------------------ */

#define FB_LOG_ERROR 1
#define FB_LOG_WARN 2
#define FB_LOG_INFO 3
#define FB_LOG_DEBUG 4
#define FB_LOG_TRACE 5
/* Application event ids are 0..FB_LOG_EVENT_MAX; log_event refuses a larger one
   with -4 (the ids above are the router's own events about the module). */
#define FB_LOG_EVENT_MAX 199
/* The argument is stored in 24 bits; values outside are saturated. */
#define FB_LOG_ARG_MIN (-8388608)
#define FB_LOG_ARG_MAX 8388607

/* Records one binary event (8 bytes in the runtime's ring, with the time and
 * this module's id): 0 or an FB_ERR_*. */
FB__IMPORT(log_event) int log_event(int level, int event, int arg);

static inline int fb_log_error(int event, int arg) { return log_event(FB_LOG_ERROR, event, arg); }
static inline int fb_log_warn(int event, int arg) { return log_event(FB_LOG_WARN, event, arg); }
static inline int fb_log_info(int event, int arg) { return log_event(FB_LOG_INFO, event, arg); }
static inline int fb_log_debug(int event, int arg) { return log_event(FB_LOG_DEBUG, event, arg); }
static inline int fb_log_trace(int event, int arg) { return log_event(FB_LOG_TRACE, event, arg); }

/* ---- router ------------------------------------------------------------ */

/* Message key 0 holds the operation, a u32: */
#define FB_REQ_KEY_OP 0x00
#define FB_REQ_GET 1 /* the reply carries the values of the message's other keys */
#define FB_REQ_SET 2 /* each other entry configures its key */
/* Device operations on "hal/gpio/<n>", "hal/i2c/<n>", "hal/spi/<n>"
 * (fireball_hal.h has a function for each):
 *   GPIO  READ {PIN} -> {LEVEL}             WRITE {PIN, LEVEL}
 *   I2C   WRITE {ADDRESS, DATA}             READ {ADDRESS, LEN} -> {DATA}
 *         TRANSFER {ADDRESS, DATA, LEN} -> {DATA}   (write, repeated start, read)
 *   SPI   WRITE {DATA}   READ {LEN} -> {DATA}   TRANSFER {DATA} -> {DATA} (full duplex) */
#define FB_REQ_READ 3
#define FB_REQ_WRITE 4
#define FB_REQ_TRANSFER 5
/* Most bytes one I2C or SPI request moves (FB_ERR_TOO_LONG past it). */
#define FB_MAX_TRANSFER 96

/* Sends the key-value message msg[0..msg_len) (the format of fireball_kv.h)
 * to the endpoint uri[0..uri_len) ("hal/adc/0", not NUL-terminated) and
 * writes the reply, a key-value message, to reply[0..reply_cap): the reply's
 * length or an FB_ERR_* (FB_ERR_DENIED: the manifest does not grant the
 * endpoint; FB_ERR_BAD_MESSAGE: msg is malformed). */
FB__IMPORT(sys_request)
int sys_request(const char *uri, int uri_len, const void *msg, int msg_len, void *reply, int reply_cap);

/* The offloader: bulk transfers between buf[0..len) and the device at the
 * NUL-terminated uri ("hal/flash/0", "hal/crc/0"; the manifest must grant it)
 * — a SPI flash, I2C registers, a UART, an accelerator. A transfer the device
 * completes later parks this module until it does (the others run; the buffer
 * is lent to the device meanwhile): the bytes moved, or an FB_ERR_*
 * (FB_ERR_DENIED, FB_ERR_BUSY: the device has another transfer pending,
 * FB_ERR_TIMEOUT: it did not complete in time and was abandoned). */
FB__IMPORT(sys_read) int sys_read(const char *uri, void *buf, int len);
FB__IMPORT(sys_write) int sys_write(const char *uri, const void *buf, int len);

/* sys_request with a NUL-terminated uri. For example, the ADC's resolution:
 *
 *   uint8_t q[16], r[16];
 *   fkv_writer w;
 *   fkv_writer_init(&w, q, sizeof q);
 *   fkv_put_u32(&w, FB_REQ_KEY_OP, FB_REQ_GET);
 *   fkv_put_u32(&w, FB_KEY_BITS, 0);          // one entry per key asked for
 *   int n = fb_request("hal/adc/0", q, fkv_writer_finish(&w), r, sizeof r);
 *   // n > 0: decode r[0..n) with fkv_next, the entry with key FB_KEY_BITS
 */
static inline int fb_request(const char *uri, const void *msg, int msg_len, void *reply, int reply_cap) {
    int n = 0;
    while (uri[n] != '\0') n++;
    return sys_request(uri, n, msg, msg_len, reply, reply_cap);
}

/* ---- time -------------------------------------------------------------- */

/* Milliseconds since `start` (an earlier hal_get_time_ms()), right across
 * the 2^31 wrap: valid for intervals under 24.8 days. */
static inline int fb_ms_since(int start) {
    return (int)(((uint32_t)hal_get_time_ms() - (uint32_t)start) & 0x7FFFFFFFu);
}

#undef FB__IMPORT

#ifdef __cplusplus
}
#endif

#endif /* FIREBALL_H */
