;; Channel operations on ports the manifest did not wire (only port 0 is: a sink).
;; Each is refused, logged, and ends the slice; nothing is sent or stored.
(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "ch_recv" (func $recv (param i32 i32)))
  (import "env" "buf_send" (func $bsend (param i32 i32) (result i32)))
  (import "env" "buf_recv" (func $brecv (param i32) (result i32)))
  (import "env" "buf_create" (func $create (param i32 i32) (result i32)))
  (import "env" "buf_release" (func $release (param i32) (result i32)))
  (memory 1)
  (data (i32.const 64) "\2a\00\00\00")
  (func $out (param i32) (call $send (i32.const 0) (local.get 0)))
  (func (export "run") (local $h i32)
    (call $send (i32.const 7) (i32.const 1))
    (call $send (i32.const 100) (i32.const 1))
    (call $send (i32.const -1) (i32.const 1))
    ;; a refused receive stores nothing: 42 stays at 64
    (call $recv (i32.const 5) (i32.const 64))
    (call $out (i32.load (i32.const 64)))
    (local.set $h (call $create (i32.const 64) (i32.const 4)))
    (call $out (call $bsend (i32.const 6) (local.get $h)))
    (call $out (call $bsend (i32.const 0x7fffffff) (local.get $h)))
    (call $out (call $brecv (i32.const -3)))
    ;; the buffer is still ours after the refused sends
    (call $out (call $release (local.get $h)))
    (call $out (i32.const 999))))
