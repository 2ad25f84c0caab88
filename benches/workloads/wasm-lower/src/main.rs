//! `wasm-lower IN.wasm OUT.wasm`: rewrites a module so that engines without the
//! bulk-memory proposal (wasm3 0.4.7) can run it, changing nothing else.
//!
//! rustc (1.82 and later) targets wasm32-unknown-unknown with bulk-memory,
//! sign-ext, nontrapping-fptoint, multivalue and reference-types enabled, and
//! its prebuilt standard library is compiled that way: `-C target-cpu=mvp`
//! cannot take `memory.copy`/`memory.fill` out of std's functions, and under
//! fat LTO the wasm backend gives every function the union of the module's
//! features, so they come back everywhere. This tool
//!
//! * replaces each `memory.copy 0 0` with a call to an appended `memmove`
//!   and each `memory.fill 0` with a call to an appended `memset` (both wasm
//!   functions of type `(i32, i32, i32) -> ()` copying 8 bytes at a time, then
//!   single bytes; a copy that faults may fault part-way, unlike
//!   `memory.copy`, which only matters to programs that trap);
//! * re-encodes every index as a minimal LEB128, so `call_indirect`'s table
//!   immediate is the single zero byte WebAssembly 1.0 reserves (wasm-ld pads
//!   it to five bytes);
//! * refuses modules with imports or any other bulk-memory instruction, and
//!   validates its output against WebAssembly 1.0 + mutable globals +
//!   sign-extension + saturating float-to-int, the set all engines support.

use std::process::ExitCode;

use wasm_encoder::reencode::{utils, Error, Reencode};
use wasm_encoder::{CodeSection, Function, FunctionSection, Instruction, MemArg, MemArgTarget, TypeSection, ValType};
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};

/// The feature set of the output: what wasm3 0.4.7, wasmi and Fireball all run.
const TARGET_FEATURES: WasmFeatures =
    WasmFeatures::WASM1.union(WasmFeatures::SIGN_EXTENSION).union(WasmFeatures::SATURATING_FLOAT_TO_INT);

struct Lower {
    /// Index of the appended type `(i32, i32, i32) -> ()`.
    helper_type: u32,
    /// Function indices of the appended helpers.
    memmove: u32,
    memset: u32,
    copies: usize,
    fills: usize,
}

impl Reencode for Lower {
    type Error = String;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), Error<String>> {
        utils::parse_type_section(self, types, section)?;
        types.ty().function([ValType::I32; 3], []);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error<String>> {
        utils::parse_function_section(self, functions, section)?;
        functions.function(self.helper_type);
        functions.function(self.helper_type);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), Error<String>> {
        utils::parse_code_section(self, code, section)?;
        code.function(&memmove());
        code.function(&memset());
        Ok(())
    }

    fn instruction<'a>(&mut self, op: Operator<'a>) -> Result<Instruction<'a>, Error<String>> {
        match op {
            Operator::MemoryCopy { dst_mem: 0, src_mem: 0 } => {
                self.copies += 1;
                Ok(Instruction::Call(self.memmove))
            }
            Operator::MemoryFill { mem: 0 } => {
                self.fills += 1;
                Ok(Instruction::Call(self.memset))
            }
            Operator::MemoryCopy { .. }
            | Operator::MemoryFill { .. }
            | Operator::MemoryInit { .. }
            | Operator::DataDrop { .. }
            | Operator::TableCopy { .. }
            | Operator::TableInit { .. }
            | Operator::ElemDrop { .. } => Err(Error::UserError(format!("cannot lower {op:?}"))),
            op => utils::instruction(self, op),
        }
    }
}

fn mem(offset: u64, align: u32) -> MemArg {
    MemArg { offset, align, target: MemArgTarget::Memory(0), ordering: None }
}

/// `memmove(dst, src, len)`: forward when `dst <= src`, else backward; 8 bytes a step, then 1.
fn memmove() -> Function {
    use Instruction as I;
    let (dst, src, len) = (0, 1, 2);
    let mut f = Function::new([]);
    let step = |f: &mut Function, width: i32, backward: bool| {
        // block { loop { if len < width: break; [back: dst -= w; src -= w;] copy; [fwd: dst += w; src += w;] len -= w } }
        f.instructions()
            .block(wasm_encoder::BlockType::Empty)
            .loop_(wasm_encoder::BlockType::Empty)
            .local_get(len)
            .i32_const(width)
            .i32_lt_u()
            .br_if(1);
        if backward {
            for l in [dst, src] {
                f.instructions().local_get(l).i32_const(width).i32_sub().local_set(l);
            }
        }
        f.instruction(&I::LocalGet(dst)).instruction(&I::LocalGet(src));
        if width == 8 {
            f.instruction(&I::I64Load(mem(0, 0))).instruction(&I::I64Store(mem(0, 0)));
        } else {
            f.instruction(&I::I32Load8U(mem(0, 0))).instruction(&I::I32Store8(mem(0, 0)));
        }
        if !backward {
            for l in [dst, src] {
                f.instructions().local_get(l).i32_const(width).i32_add().local_set(l);
            }
        }
        f.instructions().local_get(len).i32_const(width).i32_sub().local_set(len).br(0).end().end();
    };
    f.instructions().local_get(dst).local_get(src).i32_le_u().if_(wasm_encoder::BlockType::Empty);
    step(&mut f, 8, false);
    step(&mut f, 1, false);
    f.instructions().else_();
    for l in [dst, src] {
        f.instructions().local_get(l).local_get(len).i32_add().local_set(l);
    }
    step(&mut f, 8, true);
    step(&mut f, 1, true);
    f.instructions().end().end();
    f
}

/// `memset(dst, byte, len)`: 8 bytes a step, then 1.
fn memset() -> Function {
    let (dst, byte, len, wide) = (0, 1, 2, 3);
    let mut f = Function::new([(1, ValType::I64)]);
    f.instructions()
        .local_get(byte)
        .i64_extend_i32_u()
        .i64_const(0xff)
        .i64_and()
        .i64_const(0x0101_0101_0101_0101)
        .i64_mul()
        .local_set(wide);
    for (width, value) in [(8, wide), (1, byte)] {
        f.instructions()
            .block(wasm_encoder::BlockType::Empty)
            .loop_(wasm_encoder::BlockType::Empty)
            .local_get(len)
            .i32_const(width)
            .i32_lt_u()
            .br_if(1)
            .local_get(dst)
            .local_get(value);
        if width == 8 {
            f.instructions().i64_store(mem(0, 0));
        } else {
            f.instructions().i32_store8(mem(0, 0));
        }
        f.instructions()
            .local_get(dst)
            .i32_const(width)
            .i32_add()
            .local_set(dst)
            .local_get(len)
            .i32_const(width)
            .i32_sub()
            .local_set(len)
            .br(0)
            .end()
            .end();
    }
    f.instructions().end();
    f
}

fn lower(input: &[u8]) -> Result<(Vec<u8>, usize, usize), String> {
    let (mut types, mut funcs) = (0, 0);
    for payload in Parser::new(0).parse_all(input) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(r) => types = r.count(),
            Payload::FunctionSection(r) => funcs = r.count(),
            Payload::ImportSection(_) => return Err("the module imports something; workloads must not".into()),
            _ => {}
        }
    }
    if funcs == 0 {
        return Err("no functions".into());
    }
    let mut lower = Lower { helper_type: types, memmove: funcs, memset: funcs + 1, copies: 0, fills: 0 };
    let mut module = wasm_encoder::Module::new();
    lower.parse_core_module(&mut module, Parser::new(0), input).map_err(|e| format!("{e:?}"))?;
    let out = module.finish();
    Validator::new_with_features(TARGET_FEATURES)
        .validate_all(&out)
        .map_err(|e| format!("the lowered module is not WebAssembly 1.0 + sign-ext + sat-float-to-int: {e}"))?;
    Ok((out, lower.copies, lower.fills))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = &args[..] else {
        eprintln!("usage: wasm-lower IN.wasm OUT.wasm");
        return ExitCode::from(2);
    };
    let result = std::fs::read(input).map_err(|e| format!("{input}: {e}")).and_then(|bytes| lower(&bytes)).and_then(
        |(out, copies, fills)| {
            std::fs::write(output, &out).map_err(|e| format!("{output}: {e}"))?;
            Ok(format!("{copies} memory.copy, {fills} memory.fill lowered"))
        },
    );
    match result {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wasm-lower: {input}: {e}");
            ExitCode::FAILURE
        }
    }
}
