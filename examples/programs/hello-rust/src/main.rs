//! hello-rust: an ordinary Rust `std` program, built for wasm32-wasip1 and run
//! unmodified by `fireball run examples/programs/hello-rust/hello.wasm`.
//!
//! `println!` goes through WASI `fd_write`; `Vec` and `String` through
//! wasi-libc's `malloc`; `std::env::args` through `args_sizes_get`/`args_get`,
//! which Fireball answers with the module's name, then `fireball run`'s arguments.

fn main() {
    println!("Hello from Rust on Fireball!");

    let args: Vec<String> = std::env::args().collect();
    match args.first() {
        Some(argv0) => println!("{} args, argv[0] = {argv0}", args.len()),
        None => println!("0 args (no argv[0])"),
    }

    // The first 20 primes by trial division, in a Vec.
    let mut primes: Vec<u32> = Vec::new();
    let mut n = 2;
    while primes.len() < 20 {
        if primes.iter().take_while(|&&p| p * p <= n).all(|&p| n % p != 0) {
            primes.push(n);
        }
        n += 1;
    }
    let sum: u32 = primes.iter().sum();
    println!("first {} primes: {:?}", primes.len(), primes);
    println!("their sum: {sum}, the last: {}", primes[primes.len() - 1]);

    // A String built piece by piece, and an FNV-1a hash of it.
    let mut s = String::new();
    for (i, p) in primes.iter().enumerate().take(8) {
        if i > 0 {
            s.push('-');
        }
        s.push_str(&p.to_string());
    }
    let fnv = s.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    println!("string {s:?}: {} bytes, FNV-1a 0x{fnv:08x}", s.len());
    println!("mean of the primes: {:.3}", f64::from(sum) / primes.len() as f64);
    println!("goodbye");
}
