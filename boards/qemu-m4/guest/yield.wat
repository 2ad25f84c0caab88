;; Kernel benchmark guest: yields forever (each call is one wasm<->wasm switch).
(module (import "env" "co_yield" (func $y))
  (func (export "main") (loop (call $y) (br 0))))
