;; Forged, stale and reused buffer handles. Results go to port 0 (a sink), in
;; order; ports 1 and 2 share one channel, so the module can send itself a buffer.
(module
  (import "env" "buf_create" (func $create (param i32 i32) (result i32)))
  (import "env" "buf_read" (func $read (param i32 i32 i32) (result i32)))
  (import "env" "buf_release" (func $release (param i32) (result i32)))
  (import "env" "buf_send" (func $bsend (param i32 i32) (result i32)))
  (import "env" "buf_recv" (func $brecv (param i32) (result i32)))
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "co_yield" (func $yield))
  (memory 1)
  (data (i32.const 0) "abcdefgh")
  (global $h (mut i32) (i32.const 0))
  (global $h2 (mut i32) (i32.const 0))
  (func $out (param i32) (call $send (i32.const 0) (local.get 0)))
  (func (export "run")
    ;; forged: past the table, negative, every bit set
    (call $out (call $read (i32.const 0x12345) (i32.const 16) (i32.const 4)))
    (call $out (call $release (i32.const 0x7fffffff)))
    (call $out (call $read (i32.const -1) (i32.const 16) (i32.const 4)))
    ;; a real one, then used after its release
    (global.set $h (call $create (i32.const 0) (i32.const 8)))
    (call $out (call $read (global.get $h) (i32.const 16) (i32.const 8)))
    (call $out (call $release (global.get $h)))
    (call $out (call $release (global.get $h)))
    (call $out (call $read (global.get $h) (i32.const 16) (i32.const 8)))
    ;; the slot is reused: the stale handle does not reach the new buffer,
    ;; nor does a guessed next generation
    (global.set $h2 (call $create (i32.const 0) (i32.const 4)))
    (call $out (i32.ne (global.get $h) (global.get $h2)))
    (call $out (call $read (global.get $h) (i32.const 16) (i32.const 4)))
    (call $out (call $read (i32.add (global.get $h2) (i32.const 0x10000)) (i32.const 16) (i32.const 4)))
    ;; sent (in flight): the sender's copy of the handle is dead
    (call $out (call $bsend (i32.const 1) (global.get $h2)))
    (call $out (call $read (global.get $h2) (i32.const 16) (i32.const 4)))
    (call $out (call $release (global.get $h2)))
    (call $out (call $bsend (i32.const 1) (global.get $h2)))
    ;; received back: ours again
    (call $out (i32.eq (call $brecv (i32.const 2)) (global.get $h2)))
    (call $out (call $read (global.get $h2) (i32.const 16) (i32.const 4)))
    ;; someone else's: the app created and keeps the buffers of handles 1 and 2
    (call $out (call $read (i32.const 1) (i32.const 16) (i32.const 4)))
    (call $out (call $release (i32.const 2)))
    (call $out (call $bsend (i32.const 1) (i32.const 1)))
    ;; done with h2
    (call $out (call $release (global.get $h2)))
    ;; a buffer sent to the sink: the host drains its handle; nothing stays in flight
    (call $out (call $bsend (i32.const 0) (call $create (i32.const 0) (i32.const 8))))
    (call $yield)
    ;; end holding one: the kernel releases what a finished module owns
    (call $out (i32.gt_s (call $create (i32.const 0) (i32.const 8)) (i32.const 0)))
    (call $out (i32.const 999))))
