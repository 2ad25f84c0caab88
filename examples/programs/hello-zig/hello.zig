// Zig's standard library on WASI, written as for a small device: allocations
// from a fixed buffer (Zig's page and wasm allocators take linear memory in
// whole 64 KiB pages, a page per allocation or size class: they need about
// 1 MB), an ArrayList, formatted output, the command line and the clock.
const std = @import("std");

var heap: [16 * 1024]u8 = undefined;

pub fn main() !void {
    var fba = std.heap.FixedBufferAllocator.init(&heap);
    const alloc = fba.allocator();
    const stdout = std.io.getStdOut().writer();

    var squares = std.ArrayList(u64).init(alloc);
    defer squares.deinit();
    for (0..1000) |i| try squares.append(i * i);
    var sum: u64 = 0;
    for (squares.items) |x| sum += x;
    try stdout.print("Hello from Zig on Fireball! sum of 1000 squares = {d}\n", .{sum});

    const args = try std.process.argsAlloc(alloc);
    defer std.process.argsFree(alloc, args);
    for (args[1..], 1..) |a, k| try stdout.print("argument {d}: {s}\n", .{ k, a });

    const t0 = try std.time.Instant.now();
    std.time.sleep(5 * std.time.ns_per_ms);
    const t1 = try std.time.Instant.now();
    try stdout.print("slept {d} ms, pi is about {d:.4}, {d} B of the heap in use\n", .{ t1.since(t0) / std.time.ns_per_ms, std.math.pi, fba.end_index });
}
