defmodule Wasmex.InstanceTest do
  use ExUnit.Case, async: true

  import Wasmex.TestHelpers

  alias Wasmex.{Instance, Memory, Module, StoreOrCaller}

  # Failing import callbacks are logged; keep the test output clean.
  @moduletag :capture_log

  @max_i32 2_147_483_647
  @min_i32 -2_147_483_648
  @max_i64 9_223_372_036_854_775_807
  @min_i64 -9_223_372_036_854_775_808
  @max_v128 340_282_366_920_938_463_463_374_607_431_768_211_455

  @calls ~S"""
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

  @globals ~S"""
  (module
    (global $i32 (export "i32") (mut i32) (i32.const -7))
    (global (export "i64") (mut i64) (i64.const 9007199254740993))
    (global (export "f32") (mut f32) (f32.const 1.5))
    (global (export "f64") (mut f64) (f64.const 2.25))
    (global (export "v128") (mut v128) (v128.const i64x2 1 2))
    (global (export "const") i32 (i32.const 1))
    (global (export "externref") (mut externref) (ref.null extern))
    (func (export "read_i32") (result i32) global.get $i32)
    (func (export "fn")))
  """

  defp calls!, do: instantiate!(@calls)

  describe "new/4" do
    test "instantiates a module" do
      store = store!()
      module = compile!(store, @calls)

      assert {:ok, %Instance{resource: resource, reference: reference}} =
               Instance.new(store, module, %{})

      assert is_reference(resource) and is_reference(reference)
    end

    test "the same module can be instantiated many times, each with its own state" do
      store = store!()
      module = compile!(store, @globals)
      {:ok, a} = Instance.new(store, module, %{})
      {:ok, b} = Instance.new(store, module, %{})
      assert :ok = Instance.set_global_value(store, a, "i32", 1)
      assert {:ok, 1} = Instance.get_global_value(store, a, "i32")
      assert {:ok, -7} = Instance.get_global_value(store, b, "i32")
    end

    test "a missing import is an error" do
      store = store!()
      module = compile!(store, ~S[(module (import "env" "f" (func)))])

      assert {:error, "unknown import: `env::f` has not been defined"} =
               Instance.new(store, module, %{})
    end

    test "an import with the wrong signature is an error" do
      store = store!()
      module = compile!(store, ~S[(module (import "env" "f" (func (param i32))))])
      imports = %{"env" => %{"f" => {:fn, [:i64], [], fn _ctx, _x -> nil end}}}

      assert {:error, "incompatible import type for `env::f`" <> _} =
               Instance.new(store, module, imports)
    end

    test "an unknown value type in an import is an error" do
      store = store!()
      module = compile!(store, ~S[(module (import "env" "f" (func (param i32))))])
      imports = %{env: %{f: {:fn, [:i31], [], fn _ctx, _x -> nil end}}}
      assert {:error, reason} = Instance.new(store, module, imports)
      assert reason =~ "unknown"
    end

    test "a value type that is not an atom is an error" do
      store = store!()
      module = compile!(store, ~S[(module (import "env" "f" (func (param i32))))])
      imports = %{env: %{f: {:fn, ["i32"], [], fn _ctx, _x -> nil end}}}
      assert {:error, reason} = Instance.new(store, module, imports)
      assert reason =~ "not_an_atom"
    end

    test "an import that is not {:fn, ...} is an error" do
      store = store!()
      module = compile!(store, ~S[(module (import "env" "g" (global i32)))])
      imports = %{env: %{g: {:global, :i32, 1}}}
      assert {:error, reason} = Instance.new(store, module, imports)
      assert reason =~ "unknown import type"
    end

    test "import namespaces and names may be atoms or strings" do
      wat = ~S"""
      (module
        (import "env" "one" (func $one (result i32)))
        (import "more" "two" (func $two (result i32)))
        (func (export "run") (result i32) call $one call $two i32.add))
      """

      imports = %{
        :env => %{"one" => {:fn, [], [:i32], fn _ctx -> 1 end}},
        "more" => %{two: {:fn, [], [:i32], fn _ctx -> 2 end}}
      }

      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [3]} = call(store, instance, "run", [])
    end

    test "runs the start function, which may call an Elixir import" do
      test = self()

      wat = ~S"""
      (module
        (import "env" "started" (func $started (param i32)))
        (global $g (export "g") (mut i32) (i32.const 0))
        (func $start (global.set $g (i32.const 5)) (call $started (i32.const 7)))
        (start $start))
      """

      imports = %{env: %{started: {:fn, [:i32], [], fn _ctx, x -> send(test, {:started, x}) end}}}
      {store, _module, instance} = instantiate!(wat, imports)
      assert_received {:started, 7}
      assert {:ok, 5} = Instance.get_global_value(store, instance, "g")
    end

    test "a trapping start function is an error, not a crash" do
      store = store!()
      module = compile!(store, ~S[(module (func $s unreachable) (start $s))])
      assert {:error, reason} = Instance.new(store, module, %{})
      assert reason =~ "unreachable"
    end

    test "links a module registered under a name" do
      store = store!()

      dep =
        compile!(store, ~S"""
        (module (func (export "add1") (param i32) (result i32) local.get 0 i32.const 1 i32.add))
        """)

      main =
        compile!(store, ~S"""
        (module
          (import "dep" "add1" (func $add1 (param i32) (result i32)))
          (func (export "run") (param i32) (result i32) local.get 0 call $add1))
        """)

      assert {:ok, instance} = Instance.new(store, main, %{}, [%{name: "dep", module: dep}])
      assert {:ok, [42]} = call(store, instance, "run", [41])
    end

    test "links a chain of modules, dependencies first" do
      store = store!()

      c = compile!(store, ~S[(module (func (export "c") (result i32) i32.const 100))])

      b =
        compile!(store, ~S"""
        (module
          (import "c" "c" (func $c (result i32)))
          (func (export "b") (result i32) call $c i32.const 10 i32.add))
        """)

      a =
        compile!(store, ~S"""
        (module
          (import "b" "b" (func $b (result i32)))
          (func (export "a") (result i32) call $b i32.const 1 i32.add))
        """)

      links = [%{name: "c", module: c}, %{name: "b", module: b}]
      assert {:ok, instance} = Instance.new(store, a, %{}, links)
      assert {:ok, [111]} = call(store, instance, "a", [])
    end

    test "linked modules share memory with the main module" do
      store = store!()

      dep =
        compile!(store, ~S"""
        (module
          (memory (export "memory") 1)
          (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u))
        """)

      main =
        compile!(store, ~S"""
        (module
          (import "dep" "memory" (memory 1))
          (import "dep" "peek" (func $peek (param i32) (result i32)))
          (func (export "poke_then_peek") (param i32 i32) (result i32)
            local.get 0 local.get 1 i32.store8
            local.get 0 call $peek))
        """)

      assert {:ok, instance} = Instance.new(store, main, %{}, [%{name: "dep", module: dep}])
      assert {:ok, [200]} = call(store, instance, "poke_then_peek", [10, 200])
    end

    test "linked modules can use the Elixir imports" do
      store = store!()

      dep =
        compile!(store, ~S"""
        (module
          (import "env" "triple" (func $triple (param i32) (result i32)))
          (func (export "f") (param i32) (result i32) local.get 0 call $triple))
        """)

      main =
        compile!(store, ~S"""
        (module
          (import "dep" "f" (func $f (param i32) (result i32)))
          (func (export "run") (param i32) (result i32) local.get 0 call $f))
        """)

      imports = %{env: %{triple: {:fn, [:i32], [:i32], fn _ctx, x -> 3 * x end}}}
      assert {:ok, instance} = Instance.new(store, main, imports, [%{name: "dep", module: dep}])
      assert {:ok, [21]} = call(store, instance, "run", [7])
    end

    test "a link that is missing is an unknown import" do
      store = store!()

      main = compile!(store, ~S[(module (import "dep" "add1" (func (param i32) (result i32))))])

      assert {:error, "unknown import: `dep::add1` has not been defined"} =
               Instance.new(store, main, %{}, [])
    end
  end

  describe "function_export_exists/3" do
    test "is true for an exported function" do
      {store, _module, instance} = calls!()
      assert Instance.function_export_exists(store, instance, "sum") == true
    end

    test "accepts an atom name" do
      {store, _module, instance} = calls!()
      assert Instance.function_export_exists(store, instance, :sum) == true
    end

    test "is false for a missing name" do
      {store, _module, instance} = calls!()
      assert Instance.function_export_exists(store, instance, "nope") == false
    end

    test "is false for exports that are not functions" do
      {store, _module, instance} = calls!()
      assert Instance.function_export_exists(store, instance, "a_global") == false
      assert Instance.function_export_exists(store, instance, "memory") == false
    end
  end

  describe "call_exported_function/6" do
    test "returns :ok and sends {:ok, results} to from" do
      {store, _module, instance} = calls!()
      ref = make_ref()

      assert :ok = Instance.call_exported_function(store, instance, "sum", [1, 2], {self(), ref})

      assert_receive {^ref, {:ok, [3]}}, 5_000
    end

    test "sends the reply to another process's from" do
      {store, _module, instance} = calls!()
      test = self()
      ref = make_ref()

      receiver =
        spawn(fn ->
          receive do
            {^ref, reply} -> send(test, {:relayed, reply})
          end
        end)

      assert :ok =
               Instance.call_exported_function(store, instance, "sum", [2, 2], {receiver, ref})

      assert_receive {:relayed, {:ok, [4]}}, 5_000
    end

    test "a function without results returns an empty list" do
      {store, _module, instance} = calls!()
      assert {:ok, []} = call(store, instance, "void", [])
    end

    test "i32 params and results, including the bounds" do
      {store, _module, instance} = calls!()
      assert {:ok, [0]} = call(store, instance, "i32", [0])
      assert {:ok, [@max_i32]} = call(store, instance, "i32", [@max_i32])
      assert {:ok, [@min_i32]} = call(store, instance, "i32", [@min_i32])
      assert {:ok, [-1]} = call(store, instance, "minus_one", [])
    end

    test "an i32 of 2^31 is an error, not wrapped" do
      {store, _module, instance} = calls!()

      assert {:error, "Cannot convert argument #1 to a WebAssembly i32 value."} =
               call(store, instance, "i32", [@max_i32 + 1])

      assert {:error, "Cannot convert argument #1 to a WebAssembly i32 value."} =
               call(store, instance, "i32", [@min_i32 - 1])

      assert {:error, "Cannot convert argument #1 to a WebAssembly i32 value."} =
               call(store, instance, "i32", [4_294_967_295])
    end

    test "a float for an i32 is an error" do
      {store, _module, instance} = calls!()

      assert {:error, "Cannot convert argument #1 to a WebAssembly i32 value."} =
               call(store, instance, "i32", [1.0])
    end

    test "the argument number is reported" do
      {store, _module, instance} = calls!()

      assert {:error, "Cannot convert argument #2 to a WebAssembly i32 value."} =
               call(store, instance, "sum", [1, 2.5])
    end

    test "a non-number names its kind" do
      {store, _module, instance} = calls!()

      assert {:error, "Cannot convert argument #1 to a WebAssembly i32 value. Given `Atom`."} =
               call(store, instance, "i32", [:one])

      assert {:error, "Cannot convert argument #2 to a WebAssembly i32 value. Given `Binary`."} =
               call(store, instance, "sum", [1, "2"])
    end

    test "i64 params and results, including the bounds" do
      {store, _module, instance} = calls!()
      assert {:ok, [@max_i64]} = call(store, instance, "i64", [@max_i64])
      assert {:ok, [@min_i64]} = call(store, instance, "i64", [@min_i64])

      assert {:error, "Cannot convert argument #1 to a WebAssembly i64 value."} =
               call(store, instance, "i64", [@max_i64 + 1])

      assert {:error, "Cannot convert argument #1 to a WebAssembly i64 value."} =
               call(store, instance, "i64", [2.0])
    end

    test "f32 params take floats and integers" do
      {store, _module, instance} = calls!()
      assert {:ok, [1.5]} = call(store, instance, "f32", [1.5])
      assert {:ok, [3.0]} = call(store, instance, "f32", [3])
      assert {:ok, [-0.25]} = call(store, instance, "f32", [-0.25])
      assert {:ok, [narrowed]} = call(store, instance, "f32", [0.1])
      assert_in_delta narrowed, 0.1, 1.0e-7
      assert {:ok, [big]} = call(store, instance, "f32", [3.4e38])
      assert_in_delta big, 3.4e38, 1.0e32
    end

    test "an f32 that does not fit is an error" do
      {store, _module, instance} = calls!()

      assert {:error, "Cannot convert argument #1 to a WebAssembly f32 value."} =
               call(store, instance, "f32", [3.5e38])

      # :nan, :infinity and :neg_infinity are floats (test/features/non_finite_floats_test.exs).
      assert {:error, "Cannot convert argument #1 to a WebAssembly f32 value. Given `Atom`."} =
               call(store, instance, "f32", [:not_a_number])
    end

    test "f64 params take floats and integers" do
      {store, _module, instance} = calls!()
      assert {:ok, [2.25]} = call(store, instance, "f64", [2.25])
      assert {:ok, [2.0]} = call(store, instance, "f64", [2])
      assert {:ok, [1.0e308]} = call(store, instance, "f64", [1.0e308])
      assert {:ok, [-5.0e-324]} = call(store, instance, "f64", [-5.0e-324])
    end

    test "v128 params and results are non-negative integers below 2^128" do
      {store, _module, instance} = calls!()
      assert {:ok, [0]} = call(store, instance, "v128", [0])
      assert {:ok, [@max_v128]} = call(store, instance, "v128", [@max_v128])
      value = 0x0102030405060708090A0B0C0D0E0F10
      assert {:ok, [^value]} = call(store, instance, "v128", [value])
    end

    test "a v128 out of range is an error" do
      {store, _module, instance} = calls!()

      assert {:error, "Cannot convert argument #1 to a WebAssembly v128 value."} =
               call(store, instance, "v128", [@max_v128 + 1])

      assert {:error, "Cannot convert argument #1 to a WebAssembly v128 value."} =
               call(store, instance, "v128", [-1])

      assert {:error, "Cannot convert argument #1 to a WebAssembly v128 value."} =
               call(store, instance, "v128", [1.0])
    end

    test "mixed parameter types" do
      {store, _module, instance} = calls!()
      assert {:ok, [11.0]} = call(store, instance, "mixed", [1, 2, 3.5, 4.5])
    end

    test "multi-value results come back in order" do
      {store, _module, instance} = calls!()
      assert {:ok, [@max_i64, -3, 1.5]} = call(store, instance, "multi", [-3, @max_i64])
    end

    test "reference results cannot cross the boundary" do
      {store, _module, instance} = calls!()
      assert {:error, "unable_to_return_func_ref_type"} = call(store, instance, "funcref", [])
      assert {:error, "unable_to_return_extern_ref_type"} = call(store, instance, "externref", [])
    end

    test "an unknown function is an error" do
      {store, _module, instance} = calls!()
      assert {:error, "exported function `nope` not found"} = call(store, instance, "nope", [])
    end

    test "an export that is not a function is not found" do
      {store, _module, instance} = calls!()

      assert {:error, "exported function `a_global` not found"} =
               call(store, instance, "a_global", [])
    end

    test "the wrong number of params is an error" do
      {store, _module, instance} = calls!()

      assert {:error, "number of params does not match. expected 2, got 1"} =
               call(store, instance, "sum", [1])

      assert {:error, "number of params does not match. expected 0, got 1"} =
               call(store, instance, "void", [1])

      assert {:error, "number of params does not match. expected 2, got 3"} =
               call(store, instance, "sum", [1, 2, 3])
    end

    test "a trap is an error and the instance keeps working" do
      {store, _module, instance} = calls!()
      assert {:error, reason} = call(store, instance, "trap", [])
      assert String.starts_with?(reason, "Error during function excecution (")
      assert reason =~ "unreachable"
      assert {:ok, [3]} = call(store, instance, "sum", [1, 2])
    end

    test "integer division by zero traps" do
      {store, _module, instance} = calls!()

      assert {:error, "Error during function excecution (" <> rest} =
               call(store, instance, "div", [1, 0])

      assert rest =~ "integer divide by zero"
      assert {:ok, [3]} = call(store, instance, "div", [7, 2])
    end

    test "stack overflow from infinite recursion is an error, not a crash" do
      {store, _module, instance} = calls!()

      assert {:error, "Error during function excecution (" <> rest} =
               call(store, instance, "recurse", [])

      assert rest =~ "call stack exhausted"
      assert {:ok, [3]} = call(store, instance, "sum", [1, 2])
    end

    test "an infinite loop with a timeout stops with {:error, :timeout}; the instance still answers" do
      {store, _module, instance} = calls!()
      started = System.monotonic_time(:millisecond)
      assert {:error, :timeout} = call(store, instance, "forever", [], 100)
      elapsed = System.monotonic_time(:millisecond) - started
      assert elapsed >= 100
      assert elapsed < 3_000
      assert {:ok, [3]} = call(store, instance, "sum", [1, 2])
    end

    test "a timeout does not affect a call that finishes in time" do
      {store, _module, instance} = calls!()
      assert {:ok, [3]} = call(store, instance, "sum", [1, 2], 1_000)
      assert {:ok, [3]} = call(store, instance, "sum", [1, 2], :infinity)
    end

    test "a long call does not hold the scheduler: other processes keep running" do
      {store, _module, instance} = calls!()
      test = self()

      spawn(fn ->
        Process.sleep(20)
        send(test, :still_scheduled)
      end)

      assert {:error, :timeout} = call(store, instance, "forever", [], 300)
      assert_received :still_scheduled
    end

    test "several stores run calls concurrently" do
      results =
        1..4
        |> Enum.map(fn i ->
          Task.async(fn ->
            {store, _module, instance} = calls!()
            call(store, instance, "sum", [i, i])
          end)
        end)
        |> Task.await_many(10_000)

      assert results == [{:ok, [2]}, {:ok, [4]}, {:ok, [6]}, {:ok, [8]}]
    end
  end

  describe "call/5" do
    test "returns the results directly" do
      {store, _module, instance} = calls!()
      assert {:ok, [5]} = Instance.call(store, instance, "sum", [2, 3])
      assert {:ok, [5]} = Instance.call(store, instance, :sum, [2, 3])
    end

    test "returns errors directly" do
      {store, _module, instance} = calls!()

      assert {:error, "exported function `nope` not found"} =
               Instance.call(store, instance, "nope", [])
    end

    test "an infinite loop with a timeout returns {:error, :timeout}; the instance still answers" do
      {store, _module, instance} = calls!()
      assert {:error, :timeout} = Instance.call(store, instance, "forever", [], 50)
      assert {:ok, [2]} = Instance.call(store, instance, "sum", [1, 1])
    end
  end

  describe "get_global_value/3" do
    setup do
      {store, _module, instance} = instantiate!(@globals)
      %{store: store, instance: instance}
    end

    test "reads globals of every numeric type", %{store: store, instance: instance} do
      assert {:ok, -7} = Instance.get_global_value(store, instance, "i32")
      assert {:ok, 9_007_199_254_740_993} = Instance.get_global_value(store, instance, "i64")
      assert {:ok, 1.5} = Instance.get_global_value(store, instance, "f32")
      assert {:ok, 2.25} = Instance.get_global_value(store, instance, "f64")
      assert {:ok, v128} = Instance.get_global_value(store, instance, "v128")
      assert v128 == 2 * 18_446_744_073_709_551_616 + 1
      assert {:ok, 1} = Instance.get_global_value(store, instance, "const")
    end

    test "a missing global is an error", %{store: store, instance: instance} do
      assert {:error, "exported global `x` not found"} =
               Instance.get_global_value(store, instance, "x")
    end

    test "a function export is not a global", %{store: store, instance: instance} do
      assert {:error, "exported global `fn` not found"} =
               Instance.get_global_value(store, instance, "fn")
    end

    test "reference globals cannot be read", %{store: store, instance: instance} do
      assert {:error, "unable_to_return_extern_ref_type"} =
               Instance.get_global_value(store, instance, "externref")
    end
  end

  describe "set_global_value/4" do
    setup do
      {store, _module, instance} = instantiate!(@globals)
      %{store: store, instance: instance}
    end

    test "sets globals of every numeric type", %{store: store, instance: instance} do
      assert :ok = Instance.set_global_value(store, instance, "i32", @min_i32)
      assert {:ok, @min_i32} = Instance.get_global_value(store, instance, "i32")
      assert :ok = Instance.set_global_value(store, instance, "i64", @max_i64)
      assert {:ok, @max_i64} = Instance.get_global_value(store, instance, "i64")
      assert :ok = Instance.set_global_value(store, instance, "f32", -2.5)
      assert {:ok, -2.5} = Instance.get_global_value(store, instance, "f32")
      assert :ok = Instance.set_global_value(store, instance, "f64", 7)
      assert {:ok, 7.0} = Instance.get_global_value(store, instance, "f64")
      assert :ok = Instance.set_global_value(store, instance, "v128", @max_v128)
      assert {:ok, @max_v128} = Instance.get_global_value(store, instance, "v128")
    end

    test "the guest sees the new value", %{store: store, instance: instance} do
      assert :ok = Instance.set_global_value(store, instance, "i32", 123)
      assert {:ok, [123]} = call(store, instance, "read_i32", [])
    end

    test "an immutable global cannot be set", %{store: store, instance: instance} do
      assert {:error, "Could not set global: immutable global cannot be set"} =
               Instance.set_global_value(store, instance, "const", 2)

      assert {:ok, 1} = Instance.get_global_value(store, instance, "const")
    end

    test "a missing global is an error", %{store: store, instance: instance} do
      assert {:error, "exported global `x` not found"} =
               Instance.set_global_value(store, instance, "x", 1)
    end

    test "a value of the wrong kind is an error", %{store: store, instance: instance} do
      assert {:error, "Cannot convert to a WebAssembly i32 value. Given `Atom`."} =
               Instance.set_global_value(store, instance, "i32", :one)

      assert {:error, "Cannot convert to a WebAssembly i64 value."} =
               Instance.set_global_value(store, instance, "i64", 1.5)
    end

    test "a value out of range is an error, not wrapped", %{store: store, instance: instance} do
      assert {:error, "Cannot convert to a WebAssembly i32 value."} =
               Instance.set_global_value(store, instance, "i32", @max_i32 + 1)

      assert {:error, "Cannot convert to a WebAssembly f32 value."} =
               Instance.set_global_value(store, instance, "f32", 3.5e38)

      assert {:ok, -7} = Instance.get_global_value(store, instance, "i32")
    end
  end

  describe "memory/2" do
    test "returns the exported memory" do
      {store, _module, instance} = calls!()
      assert {:ok, %Memory{} = memory} = Instance.memory(store, instance)
      assert Memory.size(store, memory) == 65_536
    end

    test "is an error without an exported memory" do
      {store, _module, instance} = instantiate!("(module)")

      assert {:error, "The WebAssembly module has no exported memory."} =
               Instance.memory(store, instance)
    end
  end

  describe "call_exported_function/6 with Elixir imports" do
    test "the callback gets the context and the wasm params, and its value is the result" do
      test = self()

      wat = ~S"""
      (module
        (import "env" "add" (func $add (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "run") (param i32 i32) (result i32) local.get 0 local.get 1 call $add))
      """

      add = fn ctx, a, b ->
        send(test, {:ctx, ctx})
        a + b
      end

      {store, _module, instance} =
        instantiate!(wat, %{env: %{add: {:fn, [:i32, :i32], [:i32], add}}})

      assert {:ok, [42]} = call(store, instance, "run", [40, 2])

      assert_received {:ctx, ctx}

      assert %{memory: %Memory{}, caller: %StoreOrCaller{}, pid: pid, instance: ctx_instance} =
               ctx

      assert pid == self()
      assert ctx_instance == instance
      assert ctx.caller.resource != store.resource
    end

    test "the callback runs in the process that makes the call" do
      test = self()

      wat = ~S"""
      (module (import "env" "who" (func $who)) (func (export "run") call $who))
      """

      imports = %{env: %{who: {:fn, [], [], fn _ctx -> send(test, {:ran_in, self()}) end}}}
      {store, _module, instance} = instantiate!(wat, imports)

      task = Task.async(fn -> call(store, instance, "run", []) end)
      assert {:ok, []} = Task.await(task)
      assert_received {:ran_in, pid}
      assert pid == task.pid
    end

    test "context.memory has no resource when there is no export named \"memory\"" do
      test = self()

      wat = ~S"""
      (module
        (import "env" "f" (func $f))
        (memory (export "mem") 1)
        (func (export "run") call $f))
      """

      imports = %{
        env: %{
          f:
            {:fn, [], [],
             fn %{memory: memory, caller: caller} ->
               send(test, {:memory, memory, Memory.read_binary(caller, memory, 0, 1)})
             end}
        }
      }

      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, []} = call(store, instance, "run", [])
      assert_received {:memory, %Memory{resource: nil}, result}
      assert {:error, "The WebAssembly module has no exported memory."} = result
    end

    test "all numeric types cross in both directions" do
      wat = ~S"""
      (module
        (import "env" "f" (func $f (param i32 i64 f32 f64 v128) (result f64)))
        (import "env" "v" (func $v (param v128) (result v128)))
        (import "env" "i" (func $i (param i64) (result i64)))
        (import "env" "s" (func $s (param f32) (result f32)))
        (func (export "f") (param i32 i64 f32 f64 v128) (result f64)
          local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 call $f)
        (func (export "v") (param v128) (result v128) local.get 0 call $v)
        (func (export "i") (param i64) (result i64) local.get 0 call $i)
        (func (export "s") (param f32) (result f32) local.get 0 call $s))
      """

      test = self()

      imports = %{
        env: %{
          f:
            {:fn, [:i32, :i64, :f32, :f64, :v128], [:f64],
             fn _ctx, a, b, c, d, e ->
               send(test, {:args, [a, b, c, d, e]})
               a + b + c + d
             end},
          v: {:fn, [:v128], [:v128], fn _ctx, x -> x + 1 end},
          i: {:fn, [:i64], [:i64], fn _ctx, x -> x - 1 end},
          s: {:fn, [:f32], [:f32], fn _ctx, x -> x * 2 end}
        }
      }

      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [10.0]} = call(store, instance, "f", [-1, 4, 2.5, 4.5, @max_v128])
      assert_received {:args, [-1, 4, 2.5, 4.5, @max_v128]}
      assert {:ok, [@max_v128]} = call(store, instance, "v", [@max_v128 - 1])
      assert {:ok, [@min_i64]} = call(store, instance, "i", [@min_i64 + 1])
      assert {:ok, [3.0]} = call(store, instance, "s", [1.5])
    end

    test "a callback with several results returns a list" do
      wat = ~S"""
      (module
        (import "env" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
        (func (export "run") (param i32 i32) (result i32 i32) local.get 0 local.get 1 call $divmod))
      """

      imports = %{
        env: %{
          divmod: {:fn, [:i32, :i32], [:i32, :i32], fn _, a, b -> [div(a, b), rem(a, b)] end}
        }
      }

      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [3, 2]} = call(store, instance, "run", [17, 5])
    end

    test "the return value of a callback without results is ignored" do
      wat = ~S"""
      (module (import "env" "f" (func $f)) (func (export "run") (result i32) call $f i32.const 1))
      """

      imports = %{env: %{f: {:fn, [], [], fn _ctx -> {:anything, "at all"} end}}}
      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [1]} = call(store, instance, "run", [])
    end

    test "an import called in a loop" do
      wat = ~S"""
      (module
        (import "env" "inc" (func $inc (param i32) (result i32)))
        (func (export "run") (param $n i32) (result i32) (local $acc i32)
          (block $done
            (loop $again
              (br_if $done (i32.eqz (local.get $n)))
              (local.set $acc (call $inc (local.get $acc)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $again)))
          local.get $acc))
      """

      imports = %{env: %{inc: {:fn, [:i32], [:i32], fn _ctx, x -> x + 1 end}}}
      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [1_000]} = call(store, instance, "run", [1_000])
    end

    test "a raising callback makes the call return an error; the instance keeps working" do
      {store, instance} = failing_import_instance!(fn _ctx, _x -> raise "boom" end)
      assert {:error, reason} = call(store, instance, "run", [1])
      assert reason =~ "the elixir callback threw an exception"
      assert {:ok, [7]} = call(store, instance, "seven", [])
    end

    test "a throwing callback makes the call return an error" do
      {store, instance} = failing_import_instance!(fn _ctx, _x -> throw(:up) end)
      assert {:error, reason} = call(store, instance, "run", [1])
      assert reason =~ "the elixir callback threw an exception"
    end

    test "an exiting callback makes the call return an error" do
      {store, instance} = failing_import_instance!(fn _ctx, _x -> exit(:bye) end)
      assert {:error, reason} = call(store, instance, "run", [1])
      assert reason =~ "the elixir callback threw an exception"
    end

    test "a callback returning the wrong type makes the call return an error" do
      for bad <- ["1", :one, nil, 1.5, [1], 2_147_483_648] do
        {store, instance} = failing_import_instance!(fn _ctx, _x -> bad end)
        assert {:error, reason} = call(store, instance, "run", [1]), "returning #{inspect(bad)}"
        assert reason =~ "the elixir callback threw an exception"
      end
    end

    test "a callback returning the wrong number of results makes the call return an error" do
      wat = ~S"""
      (module
        (import "env" "two" (func $two (result i32 i32)))
        (func (export "run") (result i32 i32) call $two))
      """

      for bad <- [[1], [1, 2, 3], 1] do
        imports = %{env: %{two: {:fn, [], [:i32, :i32], fn _ctx -> bad end}}}
        {store, _module, instance} = instantiate!(wat, imports)
        assert {:error, reason} = call(store, instance, "run", [])
        assert reason =~ "the elixir callback threw an exception"
      end
    end

    test "a callback that raises during instantiation makes Instance.new return an error" do
      wat = ~S"""
      (module (import "env" "f" (func $f)) (func $s call $f) (start $s))
      """

      store = store!()
      module = compile!(store, wat)
      imports = %{env: %{f: {:fn, [], [], fn _ctx -> raise "no start" end}}}
      assert {:error, reason} = Instance.new(store, module, imports)
      assert reason =~ "the elixir callback threw an exception"
    end

    test "the caller reads and writes memory" do
      wat = ~S"""
      (module
        (import "env" "upcase" (func $upcase (param i32 i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "hello")
        (func (export "run") (result i32)
          (call $upcase (i32.const 0) (i32.const 5))
          (i32.load8_u (i32.const 100))))
      """

      test = self()

      upcase = fn %{memory: memory, caller: caller}, ptr, len ->
        text = Memory.read_binary(caller, memory, ptr, len)
        :ok = Memory.write_binary(caller, memory, 100, String.upcase(text))

        send(
          test,
          {:memory, text, Memory.size(caller, memory), Memory.get_byte(caller, memory, 1)}
        )

        :ok = Memory.set_byte(caller, memory, 200, 255)
      end

      {store, _module, instance} =
        instantiate!(wat, %{env: %{upcase: {:fn, [:i32, :i32], [], upcase}}})

      assert {:ok, [?H]} = call(store, instance, "run", [])
      assert_received {:memory, "hello", 65_536, ?e}
      memory = memory!(store, instance)
      assert Memory.read_binary(store, memory, 100, 5) == "HELLO"
      assert Memory.get_byte(store, memory, 200) == 255
    end

    test "the caller reads and writes globals and checks exports" do
      wat = ~S"""
      (module
        (import "env" "f" (func $f))
        (global $g (export "g") (mut i32) (i32.const 10))
        (func (export "run") (result i32) call $f global.get $g))
      """

      test = self()

      f = fn %{caller: caller, instance: instance} ->
        send(
          test,
          {:checks, Instance.get_global_value(caller, instance, "g"),
           Instance.function_export_exists(caller, instance, "run"),
           Instance.function_export_exists(caller, instance, "nope")}
        )

        :ok = Instance.set_global_value(caller, instance, "g", 99)
      end

      {store, _module, instance} = instantiate!(wat, %{env: %{f: {:fn, [], [], f}}})
      assert {:ok, [99]} = call(store, instance, "run", [])
      assert_received {:checks, {:ok, 10}, true, false}
    end

    test "the caller calls back into the instance (nested call replying to {self(), ref})" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb (param i32) (result i32)))
        (func (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
        (func (export "run") (param i32) (result i32) local.get 0 call $cb))
      """

      cb = fn %{caller: caller, instance: instance}, x ->
        ref = make_ref()
        :ok = Instance.call_exported_function(caller, instance, "double", [x], {self(), ref})

        receive do
          {^ref, {:ok, [doubled]}} -> doubled + 1
        after
          5_000 -> raise "no nested reply"
        end
      end

      {store, _module, instance} = instantiate!(wat, %{env: %{cb: {:fn, [:i32], [:i32], cb}}})
      assert {:ok, [11]} = call(store, instance, "run", [5])
    end

    test "nested calls can themselves call imports, several levels deep" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb (param i32) (result i32)))
        (func (export "countdown") (param i32) (result i32)
          local.get 0
          i32.eqz
          if (result i32)
            i32.const 0
          else
            local.get 0
            call $cb
          end))
      """

      cb = fn %{caller: caller, instance: instance}, n ->
        {:ok, [below]} = call(caller, instance, "countdown", [n - 1])
        below + n
      end

      {store, _module, instance} = instantiate!(wat, %{env: %{cb: {:fn, [:i32], [:i32], cb}}})
      assert {:ok, [15]} = call(store, instance, "countdown", [5])
    end

    test "a trap in a nested call is returned to the callback, not to the outer call" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb (result i32)))
        (func (export "trap") unreachable)
        (func (export "run") (result i32) call $cb))
      """

      test = self()

      cb = fn %{caller: caller, instance: instance} ->
        send(test, {:nested, call(caller, instance, "trap", [])})
        1
      end

      {store, _module, instance} = instantiate!(wat, %{env: %{cb: {:fn, [], [:i32], cb}}})
      assert {:ok, [1]} = call(store, instance, "run", [])
      assert_received {:nested, {:error, "Error during function excecution (" <> _}}
    end

    test "the caller compiles and instantiates modules" do
      wat = ~S"""
      (module (import "env" "cb" (func $cb (result i32))) (func (export "run") (result i32) call $cb))
      """

      test = self()

      cb = fn %{caller: caller} ->
        {:ok, module} =
          Module.compile(caller, ~S[(module (func (export "seven") (result i32) i32.const 7))])

        {:ok, inner} = Instance.new(caller, module, %{})
        send(test, {:inner, inner})
        {:ok, [seven]} = call(caller, inner, "seven", [])
        seven * 6
      end

      {store, _module, instance} = instantiate!(wat, %{env: %{cb: {:fn, [], [:i32], cb}}})
      assert {:ok, [42]} = call(store, instance, "run", [])

      # the inner instance lives in the same store and outlives the callback
      assert_received {:inner, inner}
      assert {:ok, [7]} = call(store, inner, "seven", [])
    end

    test "Memory.grow through the caller is an error" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb))
        (memory (export "memory") 1)
        (func (export "run") (result i32) call $cb memory.size))
      """

      test = self()

      cb = fn %{caller: caller, memory: memory} ->
        send(test, {:grow, Memory.grow(caller, memory, 1)})
      end

      {store, _module, instance} = instantiate!(wat, %{env: %{cb: {:fn, [], [], cb}}})
      assert {:ok, [1]} = call(store, instance, "run", [])
      assert_received {:grow, {:error, "Cannot grow memory from caller"}}
    end

    test "a caller used after its callback ended is no longer valid" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb))
        (memory (export "memory") 1)
        (global (export "g") i32 (i32.const 3))
        (func (export "run") call $cb)
        (func (export "one") (result i32) i32.const 1))
      """

      test = self()
      cb = fn %{caller: caller, memory: memory} -> send(test, {:caller, caller, memory}) end
      {store, _module, instance} = instantiate!(wat, %{env: %{cb: {:fn, [], [], cb}}})
      assert {:ok, []} = call(store, instance, "run", [])
      assert_received {:caller, caller, memory}

      assert {:error, "Caller is no longer valid"} = Memory.read_binary(caller, memory, 0, 1)
      assert {:error, "Caller is no longer valid"} = Memory.write_binary(caller, memory, 0, "x")
      assert {:error, "Caller is no longer valid"} = Memory.size(caller, memory)

      assert {:error, "Caller is no longer valid"} =
               Instance.get_global_value(caller, instance, "g")

      assert {:error, "Caller is no longer valid"} = call(caller, instance, "one", [])

      # the store itself is fine
      assert {:ok, [1]} = call(store, instance, "one", [])
    end

    test "a caller from an earlier call is not valid during a later call" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb (param i32)))
        (memory (export "memory") 1)
        (func (export "run") (param i32) local.get 0 call $cb))
      """

      test = self()

      cb = fn %{caller: caller, memory: memory}, n ->
        case n do
          1 ->
            Process.put(:old_caller, caller)

          2 ->
            old = Process.get(:old_caller)
            send(test, {:old, Memory.read_binary(old, memory, 0, 1)})
            send(test, {:new, Memory.read_binary(caller, memory, 0, 1)})
        end
      end

      {store, _module, instance} = instantiate!(wat, %{env: %{cb: {:fn, [:i32], [], cb}}})
      assert {:ok, []} = call(store, instance, "run", [1])
      assert {:ok, []} = call(store, instance, "run", [2])
      assert_received {:old, {:error, "Caller is no longer valid"}}
      assert_received {:new, <<0>>}
    end

    test "using the store instead of the caller inside a callback does not hang" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb))
        (memory (export "memory") 1)
        (func (export "run") (result i32) call $cb i32.const 1))
      """

      test = self()
      store = store!()

      cb = fn %{memory: memory} ->
        send(test, {:inner, Memory.read_binary(store, memory, 0, 1)})
      end

      {store, _module, instance} =
        instantiate!(wat, %{env: %{cb: {:fn, [], [], cb}}}, store: store)

      assert {:ok, [1]} = within(5_000, fn -> call(store, instance, "run", []) end)
      assert_received {:inner, inner}
      assert inner == <<0>> or match?({:error, reason} when is_binary(reason), inner)
    end
  end

  defp failing_import_instance!(fun) do
    wat = ~S"""
    (module
      (import "env" "f" (func $f (param i32) (result i32)))
      (func (export "run") (param i32) (result i32) local.get 0 call $f)
      (func (export "seven") (result i32) i32.const 7))
    """

    {store, _module, instance} = instantiate!(wat, %{env: %{f: {:fn, [:i32], [:i32], fun}}})
    {store, instance}
  end

  test "Inspect shows #Wasmex.Instance<...>" do
    {_store, _module, instance} = calls!()
    assert inspect(instance) =~ ~r/^#Wasmex\.Instance<#Reference<[\d.]+>>$/
  end
end
