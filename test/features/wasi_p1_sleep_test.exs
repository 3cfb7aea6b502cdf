defmodule Wasmex.Features.WasiP1SleepTest do
  # A WASI P1 guest that sleeps (poll_oneoff on a clock) works, and a sleep past the call's
  # deadline is stopped like a spinning guest (issue 8 item 2).
  use ExUnit.Case, async: true

  import Wasmex.TestHelpers

  # One clock subscription at 0 (monotonic, relative, `ms` milliseconds), the event at 64 and
  # the number of events at 128. Returns poll_oneoff's errno.
  @sleeper ~S"""
  (module
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "sleep_ms") (param $ms i64) (result i32)
      (i64.store (i32.const 0) (i64.const 42))
      (i32.store8 (i32.const 8) (i32.const 0))
      (i32.store (i32.const 16) (i32.const 1))
      (i64.store (i32.const 24) (i64.mul (local.get $ms) (i64.const 1000000)))
      (i64.store (i32.const 32) (i64.const 0))
      (i32.store16 (i32.const 40) (i32.const 0))
      (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (func (export "events") (result i32) (i32.load (i32.const 128))))
  """

  defp start_sleeper! do
    {:ok, pid} = Wasmex.start_link(%{bytes: @sleeper, wasi: %Wasmex.Wasi.WasiOptions{}})
    pid
  end

  test "a guest sleeping 30 ms returns after about that long, and the server lives" do
    pid = start_sleeper!()
    {ms, result} = timed_ms(fn -> Wasmex.call_function(pid, "sleep_ms", [30]) end)
    assert result == {:ok, [0]}
    assert Wasmex.call_function(pid, "events", []) == {:ok, [1]}
    assert ms >= 29 and ms < 2_000, "slept #{ms} ms"
    assert Process.alive?(pid)
  end

  test "a sleep past the deadline answers {:error, :timeout} on time and the server goes on" do
    pid = start_sleeper!()
    {ms, result} = timed_ms(fn -> Wasmex.call_function(pid, "sleep_ms", [60_000], 100) end)
    assert result == {:error, :timeout}
    assert ms < 1_500, "answered after #{ms} ms"
    assert Wasmex.call_function(pid, "sleep_ms", [1]) == {:ok, [0]}
  end
end
