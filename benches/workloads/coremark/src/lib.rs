//! CoreMark 1.0, 2K performance run (seeds 0, 0, 0x66; 2000 bytes of data split
//! between the list, matrix and state algorithms), `n` iterations.
//!
//! `coremark::run` times itself with `std::time::Instant`, which panics on
//! wasm32-unknown-unknown, so this drives the crate's public algorithm modules
//! the way its `bench.rs` does: the same set-up, then per iteration the list
//! benchmark with finder index 1 and -1 (which calls the matrix and state
//! benchmarks), folding both CRCs into the running one.
#![cfg_attr(feature = "no_std", no_std)] // for the Cortex-M firmware (boards/qemu-m4, bin coremark-native)
use coremark::list::core_list_init;
use coremark::matrix::core_init_matrix;
use coremark::state::core_init_state;
use coremark::types::{CoreResults, ALL_ALGORITHMS_MASK, NUM_ALGORITHMS, TOTAL_DATA_SIZE};
use coremark::util::{crc16, crcu16};

/// The CRCs of one CoreMark run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crcs {
    /// CRC of the seeds and the size: 0xe9f5 identifies the 2K performance run.
    pub seed: u16,
    /// CRCs after the first iteration (the ones CoreMark validates).
    pub list: u16,
    pub matrix: u16,
    pub state: u16,
    /// CRC over every iteration.
    pub last: u16,
}

/// Runs `iterations` iterations of the 2K performance run.
pub fn crcs(iterations: u32) -> Crcs {
    let mut res = CoreResults {
        seed1: 0,
        seed2: 0,
        seed3: 0x66,
        size: TOTAL_DATA_SIZE / NUM_ALGORITHMS,
        iterations,
        execs: ALL_ALGORITHMS_MASK,
        ..Default::default()
    };
    res.list = Some(core_list_init(res.size, res.seed1));
    let combined = (res.seed1 as i32) | ((res.seed2 as i32) << 16);
    core_init_matrix(res.size, combined, &mut res.mat);
    res.state_mem = core_init_state(res.size, res.seed1);

    // bench.rs's `iterate`.
    for i in 0..res.iterations {
        let Some(mut list) = res.list.take() else { break };
        let crc = list.bench(&mut res, 1);
        res.crc = crcu16(crc, res.crc);
        let crc = list.bench(&mut res, -1);
        res.crc = crcu16(crc, res.crc);
        res.list = Some(list);
        if i == 0 {
            res.crclist = res.crc;
        }
    }

    let mut seed = 0;
    seed = crc16(res.seed1, seed);
    seed = crc16(res.seed2, seed);
    seed = crc16(res.seed3, seed);
    seed = crc16(res.size as i16, seed);
    Crcs { seed, list: res.crclist, matrix: res.crcmatrix, state: res.crcstate, last: res.crc }
}

/// Runs `n` iterations; returns the four CRCs packed: list, matrix, state, final.
pub fn run(n: u32) -> u64 {
    let c = crcs(n);
    u64::from(c.list) << 48 | u64::from(c.matrix) << 32 | u64::from(c.state) << 16 | u64::from(c.last)
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    /// The wasm export: `run(n: i32) -> i64`.
    #[no_mangle]
    pub extern "C" fn run(n: i32) -> i64 {
        super::run(n as u32) as i64
    }
}

#[cfg(test)]
mod tests {
    use coremark::types::{LIST_KNOWN_CRC, MATRIX_KNOWN_CRC, STATE_KNOWN_CRC};

    /// The known CRCs of the reference C CoreMark for the 2K performance run
    /// (core_main.c's table, index 3): seedcrc 0xe9f5, list 0xe714, matrix
    /// 0x1fd7, state 0x8e3a.
    #[test]
    fn performance_run_crcs_match_the_reference() {
        let c = super::crcs(10);
        assert_eq!(c.seed, 0xe9f5);
        assert_eq!((c.list, c.matrix, c.state), (0xe714, 0x1fd7, 0x8e3a));
        assert_eq!((c.list, c.matrix, c.state), (LIST_KNOWN_CRC[3], MATRIX_KNOWN_CRC[3], STATE_KNOWN_CRC[3]));
    }

    /// The crate's own driver agrees on every CRC, the final one included.
    #[test]
    fn same_as_the_crates_driver() {
        let r = coremark::run(&coremark::Config { iterations: 30, ..Default::default() });
        let c = super::crcs(30);
        assert_eq!(r.known_id, 3);
        assert_eq!(
            (r.seedcrc, r.crclist, r.crcmatrix, r.crcstate, r.crcfinal),
            (c.seed, c.list, c.matrix, c.state, c.last)
        );
    }
}
