defmodule Wasmex.WatFixtures do
  @moduledoc false
  # WAT modules shared by the core suites (test/wasmex/instance_test.exs and
  # test/wasmex/instance/call_exported_function_test.exs).

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
end
