;; Takes as much of the kernel's buffer pool as it can get: 16-byte buffers
;; until buf_create refuses (-3: no memory, -2: table full), reports how many it
;; got and the refusal on port 0, then holds them, yielding, for ever.
(module
  (import "env" "buf_create" (func $create (param i32 i32) (result i32)))
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "co_yield" (func $yield))
  (memory 1)
  (data (i32.const 15) "\ff")
  (func (export "run") (local $n i32) (local $r i32)
    (block $full
      (loop
        (local.set $r (call $create (i32.const 0) (i32.const 16)))
        (br_if $full (i32.lt_s (local.get $r) (i32.const 0)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br 0)))
    (call $send (i32.const 0) (local.get $n))
    (call $send (i32.const 0) (local.get $r))
    (loop (call $yield) (br 0))))
