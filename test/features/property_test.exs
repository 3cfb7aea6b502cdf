defmodule Wasmex.Features.PropertyTest do
  # Random bit patterns through every value type and path, and malformed terms into the public
  # functions: no crash, the right value back (issue 8 items 1, 2). A failure prints its seed;
  # rerun with PROPERTY_SEED=<seed> mix test test/features/property_test.exs.
  use ExUnit.Case, async: true

  import Bitwise
  import Wasmex.ComponentTestHelpers

  alias Wasmex.Property, as: P

  @runs 150

  @core ~S"""
  (module
    (import "env" "h32" (func $h32 (param f32) (result f32)))
    (import "env" "h64" (func $h64 (param f64) (result f64)))
    (import "env" "hi32" (func $hi32 (param i32) (result i32)))
    (import "env" "hi64" (func $hi64 (param i64) (result i64)))
    (import "env" "hv" (func $hv (param v128) (result v128)))
    (global $g32 (export "g32") (mut f32) (f32.const 0))
    (global $g64 (export "g64") (mut f64) (f64.const 0))
    (global $gi32 (export "gi32") (mut i32) (i32.const 0))
    (global $gi64 (export "gi64") (mut i64) (i64.const 0))
    (global $gv (export "gv") (mut v128) (v128.const i64x2 0 0))
    (func (export "from32") (param i32) (result f32) (f32.reinterpret_i32 (local.get 0)))
    (func (export "from64") (param i64) (result f64) (f64.reinterpret_i64 (local.get 0)))
    (func (export "to32") (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
    (func (export "to64") (param f64) (result i64) (i64.reinterpret_f64 (local.get 0)))
    (func (export "via32") (param i32) (result i32)
      (i32.reinterpret_f32 (call $h32 (f32.reinterpret_i32 (local.get 0)))))
    (func (export "via64") (param i64) (result i64)
      (i64.reinterpret_f64 (call $h64 (f64.reinterpret_i64 (local.get 0)))))
    (func (export "viai32") (param i32) (result i32) (call $hi32 (local.get 0)))
    (func (export "viai64") (param i64) (result i64) (call $hi64 (local.get 0)))
    (func (export "viav") (param v128) (result v128) (call $hv (local.get 0)))
    (func (export "set32") (param i32) (global.set $g32 (f32.reinterpret_i32 (local.get 0))))
    (func (export "set64") (param i64) (global.set $g64 (f64.reinterpret_i64 (local.get 0)))))
  """

  defp echo(test) do
    fn _ctx, x ->
      send(test, {:got, x})
      x
    end
  end

  defp core!(test) do
    fns = for n <- ~w(h32 h64 hi32 hi64 hv), into: %{}, do: {n, echo(test)}

    types = %{
      "h32" => :f32,
      "h64" => :f64,
      "hi32" => :i32,
      "hi64" => :i64,
      "hv" => :v128
    }

    imports = %{"env" => Map.new(fns, fn {n, f} -> {n, {:fn, [types[n]], [types[n]], f}} end)}
    {:ok, pid} = Wasmex.start_link(%{bytes: @core, imports: imports})
    pid
  end

  # The bits a float term goes back in as: exact for numbers and infinities, any NaN for :nan.
  defp same_bits?(term, got, width) do
    if term == :nan, do: P.nan_bits?(got, width), else: got == P.term_bits(term, width)
  end

  defp unsigned(i, width), do: i &&& (1 <<< width) - 1

  test "core floats: results, arguments, import arguments and results, globals" do
    seed = P.seed!(8_001)
    pid = core!(self())
    {:ok, store} = Wasmex.store(pid)
    {:ok, instance} = Wasmex.instance(pid)

    for _ <- 1..@runs, {width, ity} <- [{32, "32"}, {64, "64"}] do
      b = P.bits(width)
      term = P.float_term(b, width)
      arg = P.signed(b, width)
      why = "seed #{seed}: f#{width} bits 0x#{Integer.to_string(b, 16)}"

      assert Wasmex.call_function(pid, "from" <> ity, [arg]) == {:ok, [term]}, why
      assert {:ok, [back]} = Wasmex.call_function(pid, "to" <> ity, [term]), why
      assert same_bits?(term, unsigned(back, width), width), why

      assert {:ok, [via]} = Wasmex.call_function(pid, "via" <> ity, [arg]), why
      assert_received {:got, ^term}, why
      assert same_bits?(term, unsigned(via, width), width), why

      assert {:ok, []} = Wasmex.call_function(pid, "set" <> ity, [arg]), why
      assert Wasmex.Instance.get_global_value(store, instance, "g" <> ity) == {:ok, term}, why
      assert Wasmex.Instance.set_global_value(store, instance, "g" <> ity, term) == :ok, why
      assert Wasmex.Instance.get_global_value(store, instance, "g" <> ity) == {:ok, term}, why
    end
  end

  test "core integers and v128: every bit pattern round-trips on every path" do
    seed = P.seed!(8_002)
    pid = core!(self())
    {:ok, store} = Wasmex.store(pid)
    {:ok, instance} = Wasmex.instance(pid)

    for _ <- 1..@runs,
        {width, name, global} <- [
          {32, "viai32", "gi32"},
          {64, "viai64", "gi64"},
          {128, "viav", "gv"}
        ] do
      b = P.bits(width)
      value = if width == 128, do: b, else: P.signed(b, width)
      why = "seed #{seed}: #{width}-bit 0x#{Integer.to_string(b, 16)}"
      assert Wasmex.call_function(pid, name, [value]) == {:ok, [value]}, why
      assert_received {:got, ^value}, why
      assert Wasmex.Instance.set_global_value(store, instance, global, value) == :ok, why
      assert Wasmex.Instance.get_global_value(store, instance, global) == {:ok, value}, why
    end
  end

  @component ~S"""
  (component
    (import "cb32" (func $cb32 (param "x" f32) (result f32)))
    (import "cb64" (func $cb64 (param "x" f64) (result f64)))
    (core func $l32 (canon lower (func $cb32)))
    (core func $l64 (canon lower (func $cb64)))
    (core module $m
      (import "h" "cb32" (func $cb32 (param f32) (result f32)))
      (import "h" "cb64" (func $cb64 (param f64) (result f64)))
      (func (export "from32") (param i32) (result f32) (f32.reinterpret_i32 (local.get 0)))
      (func (export "from64") (param i64) (result f64) (f64.reinterpret_i64 (local.get 0)))
      (func (export "to32") (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
      (func (export "to64") (param f64) (result i64) (i64.reinterpret_f64 (local.get 0)))
      (func (export "via32") (param i32) (result i32)
        (i32.reinterpret_f32 (call $cb32 (f32.reinterpret_i32 (local.get 0)))))
      (func (export "via64") (param i64) (result i64)
        (i64.reinterpret_f64 (call $cb64 (f64.reinterpret_i64 (local.get 0))))))
    (core instance $i (instantiate $m (with "h" (instance (export "cb32" (func $l32)) (export "cb64" (func $l64))))))
    (func (export "from32") (param "b" u32) (result f32) (canon lift (core func $i "from32")))
    (func (export "from64") (param "b" u64) (result f64) (canon lift (core func $i "from64")))
    (func (export "to32") (param "x" f32) (result u32) (canon lift (core func $i "to32")))
    (func (export "to64") (param "x" f64) (result u64) (canon lift (core func $i "to64")))
    (func (export "via32") (param "b" u32) (result u32) (canon lift (core func $i "via32")))
    (func (export "via64") (param "b" u64) (result u64) (canon lift (core func $i "via64"))))
  """

  test "component f32/f64: results, arguments, import arguments and results" do
    seed = P.seed!(8_003)
    {:ok, bytes} = Wasmex.Wat.to_wasm(@component)
    test = self()

    cb = fn x ->
      send(test, {:got, x})
      x
    end

    {:ok, pid} =
      Wasmex.Components.start_link(
        bytes: bytes,
        imports: %{"cb32" => {:fn, cb}, "cb64" => {:fn, cb}}
      )

    for _ <- 1..@runs, {width, ity} <- [{32, "32"}, {64, "64"}] do
      b = P.bits(width)
      term = P.float_term(b, width)
      why = "seed #{seed}: f#{width} bits 0x#{Integer.to_string(b, 16)}"
      call = &Wasmex.Components.call_function(pid, &1 <> ity, [&2])

      assert call.("from", b) == {:ok, term}, why
      assert {:ok, back} = call.("to", term), why
      assert same_bits?(term, back, width), why
      assert {:ok, via} = call.("via", b), why
      assert_received {:got, ^term}, why
      assert same_bits?(term, via, width), why
    end

    assert Process.alive?(pid)
  end

  # A public function given malformed terms answers {:error, _} or raises ArgumentError or
  # FunctionClauseError in the caller (a guard refused the term), never anything else.
  defp refused?(fun) do
    case fun.() do
      {:error, _} -> true
      false -> true
      other -> {:accepted, other}
    end
  rescue
    e in [ArgumentError, FunctionClauseError] -> is_exception(e)
  end

  test "malformed terms to the core API: errors, and the server lives" do
    seed = P.seed!(8_004)
    pid = core!(self())
    {:ok, store} = Wasmex.store(pid)
    {:ok, instance} = Wasmex.instance(pid)
    {:ok, memory} = Wasmex.start_link(%{bytes: ~S[(module (memory (export "m") 1))]})
    {:ok, mstore} = Wasmex.store(memory)
    {:ok, mem} = Wasmex.memory(memory)

    for _ <- 1..@runs do
      bad = P.malformed()
      why = "seed #{seed}: #{inspect(bad, limit: 6)}"

      checks = [
        fn -> Wasmex.call_function(pid, "to32", [bad]) end,
        fn -> Wasmex.call_function(pid, "viai64", [bad]) end,
        fn -> Wasmex.call_function(pid, "viav", [bad]) end,
        fn -> Wasmex.call_function(pid, "to32", bad) end,
        fn -> Wasmex.call_function(pid, bad, []) end,
        fn -> Wasmex.function_exists(pid, bad) end,
        fn -> Wasmex.Instance.get_global_value(store, instance, bad) end,
        fn -> Wasmex.Instance.set_global_value(store, instance, "g64", bad) end,
        fn -> Wasmex.Instance.set_global_value(store, instance, bad, 1) end,
        fn -> Wasmex.Memory.read_binary(mstore, mem, bad, 1) end,
        fn -> Wasmex.Memory.write_binary(mstore, mem, 0, P.malformed(binaries: false)) end,
        fn -> Wasmex.Memory.set_byte(mstore, mem, bad, 1) end,
        fn -> Wasmex.Wat.to_wasm(bad) end,
        fn -> Wasmex.Module.compile(store, bad) end
      ]

      for {check, i} <- Enum.with_index(checks),
          do: assert(refused?(check) == true, "#{why} (check #{i})")
    end

    assert Process.alive?(pid) and Process.alive?(memory)
    assert Wasmex.call_function(pid, "viai32", [7]) == {:ok, [7]}
  end

  test "malformed terms to component functions of every WIT type: errors, and the server lives" do
    seed = P.seed!(8_005)
    pid = start_component!("component_types")

    funs = ~w(echo-bool echo-u8 echo-s64 echo-f32 echo-f64 echo-char echo-string echo-list-u8
         echo-list-string echo-tuple echo-point echo-shape echo-color echo-perms echo-option
         echo-result echo-result-empty)

    for _ <- 1..@runs, fun <- funs do
      bad = P.malformed(binaries: fun != "echo-list-u8")
      why = "seed #{seed}: #{fun} #{inspect(bad, limit: 6)}"
      assert refused?(fn -> Wasmex.Components.call_function(pid, fun, [bad]) end) == true, why
      assert refused?(fn -> Wasmex.Components.call_function(pid, fun, bad) end) == true, why
    end

    assert Process.alive?(pid)
    assert Wasmex.Components.call_function(pid, "echo-u32", [9]) == {:ok, 9}
  end
end
