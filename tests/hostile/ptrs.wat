;; Pointers and lengths no host call may honour: outside linear memory, past its
;; end, negative, and pairs whose end wraps around 2^32 (ptr + len overflows on a
;; 32-bit device). Every result goes to port 0 (a sink), in order; then the very
;; last call, a ch_recv told to store its message outside memory, breaks the
;; kernel import's protocol and ends the module.
(module
  (import "env" "hal_tx_send" (func $tx (param i32 i32) (result i32)))
  (import "env" "hal_ble_send" (func $ble (param i32 i32) (result i32)))
  (import "env" "sys_request" (func $req (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "buf_create" (func $bcreate (param i32 i32) (result i32)))
  (import "env" "buf_read" (func $bread (param i32 i32 i32) (result i32)))
  (import "env" "buf_release" (func $brelease (param i32) (result i32)))
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "ch_recv" (func $recv (param i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (memory 1)
  (data (i32.const 0) "hal/adc/0")
  ;; an iovec whose buffer wraps: {ptr 0xfffffff0, len 0x20}
  (data (i32.const 16) "\f0\ff\ff\ff\20\00\00\00")
  ;; an iovec that is fine: {ptr 64, len 4} -> "ok!\n"
  (data (i32.const 24) "\40\00\00\00\04\00\00\00")
  (data (i32.const 64) "ok!\n")
  ;; a good GET message (count 2: key 0 = 1 (get), key 2 = 0): only its reply is misdirected
  (data (i32.const 32) "\02\00\03\01\00\00\00\02\03\00\00\00\00")
  (global $h (mut i32) (i32.const 0))
  (func $out (param i32) (call $send (i32.const 0) (local.get 0)))
  (func (export "run")
    ;; radio: outside memory, negative length, wrapping end, past the end, both huge
    (call $out (call $tx (i32.const 0xfffffff0) (i32.const 32)))
    (call $out (call $tx (i32.const 0) (i32.const -1)))
    (call $out (call $tx (i32.const 0xffffff00) (i32.const 0x200)))
    (call $out (call $tx (i32.const 0) (i32.const 0x10000)))
    (call $out (call $ble (i32.const 0x7fffffff) (i32.const 0x7fffffff)))
    ;; the router: URI outside memory, wrapping URI, message outside memory, reply outside memory
    (call $out (call $req (i32.const 0xfffffff8) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 128) (i32.const 32)))
    (call $out (call $req (i32.const 0xfffffffc) (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 128) (i32.const 32)))
    (call $out (call $req (i32.const 0) (i32.const 9) (i32.const 0xfffffff0) (i32.const 64) (i32.const 128) (i32.const 32)))
    (call $out (call $req (i32.const 0) (i32.const 9) (i32.const 32) (i32.const 13) (i32.const 0xfffffff0) (i32.const 64)))
    (call $out (call $req (i32.const 0) (i32.const 9) (i32.const 32) (i32.const 13) (i32.const 100) (i32.const 0x7fffffff)))
    ;; WASI: iovecs outside memory, a negative count, an iovec whose buffer wraps,
    ;; nwritten outside memory (the text itself is fine and is printed)
    (call $out (call $write (i32.const 1) (i32.const 0xfffffff8) (i32.const 1) (i32.const 128)))
    (call $out (call $write (i32.const 1) (i32.const 16) (i32.const -1) (i32.const 128)))
    (call $out (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 128)))
    (call $out (call $write (i32.const 1) (i32.const 24) (i32.const 1) (i32.const 0xfffffffc)))
    (call $out (call $random (i32.const 0xfffffff0) (i32.const 32)))
    (call $out (call $random (i32.const 0) (i32.const -1)))
    (call $out (call $clock (i32.const 0) (i64.const 0) (i32.const 0xfffffffc)))
    (call $out (call $args (i32.const 0xfffffffe) (i32.const 0)))
    (call $out (call $fdstat (i32.const 1) (i32.const 0xfffffff0)))
    ;; buffers: source outside memory, negative length, wrapping; a good one read
    ;; out to a destination outside memory and to a wrapping one
    (call $out (call $bcreate (i32.const 0xfffffff0) (i32.const 32)))
    (call $out (call $bcreate (i32.const 0) (i32.const -1)))
    (call $out (call $bcreate (i32.const 0xffffff00) (i32.const 0x200)))
    (global.set $h (call $bcreate (i32.const 64) (i32.const 4)))
    (call $out (i32.ge_s (global.get $h) (i32.const 0)))
    (call $out (call $bread (global.get $h) (i32.const 0xfffffff0) (i32.const 16)))
    (call $out (call $bread (global.get $h) (i32.const 0xfffffffe) (i32.const 4)))
    (call $out (call $bread (global.get $h) (i32.const 100) (i32.const -1)))
    (call $out (call $brelease (global.get $h)))
    ;; a kernel import told to store outside memory: a broken protocol, the module ends
    (call $send (i32.const 1) (i32.const 42))
    (call $recv (i32.const 1) (i32.const 0xfffffffe))
    (call $out (i32.const 999))))
