;; A well-behaved app that keeps two buffers (handles 1 and 2, the first the
;; kernel hands out; no handle is 0) and checks, forever, that they still hold its bytes: 1 on port 0
;; for each good check, the failing handle's read result otherwise.
(module
  (import "env" "buf_create" (func $create (param i32 i32) (result i32)))
  (import "env" "buf_read" (func $read (param i32 i32 i32) (result i32)))
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "co_yield" (func $yield))
  (memory 1)
  (data (i32.const 0) "owned by the app")
  (func (export "_start") (local $i i32) (local $r i32)
    (loop
      (drop (call $create (i32.const 0) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $i) (i32.const 2))))
    (loop
      (local.set $i (i32.const 0))
      (loop
        (local.set $r (call $read (i32.add (local.get $i) (i32.const 1)) (i32.const 64) (i32.const 8)))
        (if (i32.and (i32.eq (local.get $r) (i32.const 8))
                     (i64.eq (i64.load (i32.const 64)) (i64.load (i32.const 0))))
          (then (call $send (i32.const 0) (i32.const 1)))
          (else (call $send (i32.const 0) (local.get $r))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if 0 (i32.lt_u (local.get $i) (i32.const 2))))
      (call $yield)
      (br 0))))
