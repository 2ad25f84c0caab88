;; Kernel benchmark guest: sends on port 0, then waits on port 1 for the answer, forever
;; (with a native task answering, each pass is a wasm -> native -> wasm round trip).
(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "ch_recv" (func $recv (param i32 i32)))
  (memory 1)
  (func (export "main") (loop (call $send (i32.const 0) (i32.const 1)) (call $recv (i32.const 1) (i32.const 0)) (br 0))))
