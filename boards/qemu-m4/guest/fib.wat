;; Guest module embedded in the QEMU firmware (boards/qemu-m4).
;; Rebuild the checked-in binary after editing (from boards/qemu-m4):
;;   wat2wasm guest/fib.wat -o guest/fib.wasm
(module
  ;; Naive doubly-recursive Fibonacci: fib(20) = 6765 (~22k calls, ~200k
  ;; instructions), so it spans several 30 000-instruction time slices.
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; sum(n) = 0 + 1 + ... + (n-1), with a loop and br_if.
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
      (loop $next
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_s (local.get $i) (local.get $n)))))
    (local.get $acc)))
