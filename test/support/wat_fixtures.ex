defmodule Wasmex.WatFixtures do
  @moduledoc false
  # WAT modules shared by the core suites (instance_test.exs and
  # instance/call_exported_function_test.exs; wasmex_test.exs and features/server_callbacks_test.exs).

  @doc """
  A module exporting one function per value type (identity functions, `sum`, `mixed`, `multi`),
  functions that trap, recurse or loop forever, a global and a memory.
  """
  def calls do
    ~S"""
    (module
      (func (export "i32") (param i32) (result i32) local.get 0)
      (func (export "i64") (param i64) (result i64) local.get 0)
      (func (export "f32") (param f32) (result f32) local.get 0)
      (func (export "f64") (param f64) (result f64) local.get 0)
      (func (export "v128") (param v128) (result v128) local.get 0)
      (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
      (func (export "mixed") (param i32 i64 f32 f64) (result f64)
        local.get 0 f64.convert_i32_s
        local.get 1 f64.convert_i64_s f64.add
        local.get 2 f64.promote_f32 f64.add
        local.get 3 f64.add)
      (func (export "multi") (param i32 i64) (result i64 i32 f64)
        local.get 1 local.get 0 f64.const 1.5)
      (func (export "void"))
      (func (export "minus_one") (result i32) i32.const -1)
      (func (export "trap") unreachable)
      (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
      (func $recurse (export "recurse") call $recurse)
      (func (export "forever") (loop $l (br $l)))
      (func (export "funcref") (result funcref) ref.null func)
      (func (export "externref") (result externref) ref.null extern)
      (global (export "a_global") i32 (i32.const 0))
      (memory (export "memory") 1))
    """
  end

  @doc """
  The module most `Wasmex` server tests run: arithmetic on every value type, a counter global,
  a memory starting with "hello", traps and an endless loop.
  """
  def math do
    ~S"""
    (module
      (global $counter (export "counter") (mut i32) (i32.const 0))
      (memory (export "memory") 1)
      (data (i32.const 0) "hello")
      (func (export "sum") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add)
      (func (export "sum64") (param i64 i64) (result i64)
        local.get 0 local.get 1 i64.add)
      (func (export "fsum") (param f32 f64) (result f64)
        local.get 0 f64.promote_f32 local.get 1 f64.add)
      (func (export "void"))
      (func (export "multi") (result i32 i64 f32 f64)
        i32.const 1 i64.const 2 f32.const 3.5 f64.const 4.25)
      (func (export "swap") (param i32 i32) (result i32 i32)
        local.get 1 local.get 0)
      (func (export "unreachable") unreachable)
      (func (export "div") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.div_s)
      (func (export "spin") (loop $l br $l))
      (func (export "incr") (result i32)
        global.get $counter i32.const 1 i32.add global.set $counter global.get $counter)
      (func (export "store_byte") (param i32 i32)
        local.get 0 local.get 1 i32.store8)
    )
    """
  end

  @doc """
  A WASI P1 module that writes `text` to fd `fd` `times` times in each call: `say` returns,
  `fail` traps after writing, `quiet_fail` traps without writing (features/guest_output_test.exs
  and features/guest_output_wiring_test.exs).
  """
  def fd_write(text, fd \\ 2, times \\ 1) do
    iovec = <<16::little-32, byte_size(text)::little-32>>
    writes = String.duplicate("call $write ", times)

    """
    (module
      (import "wasi_snapshot_preview1" "fd_write"
        (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "#{escape(iovec)}")
      (data (i32.const 16) "#{escape(text)}")
      (func $write (drop (call $fd_write (i32.const #{fd}) (i32.const 0) (i32.const 1) (i32.const 8))))
      (func (export "say") #{writes})
      (func (export "fail") #{writes} unreachable)
      (func (export "quiet_fail") unreachable))
    """
  end

  defp escape(bytes), do: for(<<b <- bytes>>, into: "", do: "\\" <> Base.encode16(<<b>>))
end
