defmodule Wasmex.Instance.CallExportedFunctionTest do
  # `Wasmex.Instance.call_exported_function/6` and `call/5`: argument and result conversion per
  # value type, traps, timeouts and replies (split from instance_test.exs by function).
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, WatFixtures}

  # Failing import callbacks are logged; keep the test output clean.
  @moduletag :capture_log

  @max_i32 2_147_483_647
  @min_i32 -2_147_483_648
  @max_i64 9_223_372_036_854_775_807
  @min_i64 -9_223_372_036_854_775_808
  @max_v128 340_282_366_920_938_463_463_374_607_431_768_211_455

  defp calls!, do: instantiate!(WatFixtures.calls())

  # A call that trapped: its error starts with the trap prefix and mentions `detail`.
  defp assert_trap(result, detail) do
    assert {:error, "Error during function excecution (" <> rest} = result
    assert rest =~ detail
  end

  defp calls(_context) do
    {store, _module, instance} = calls!()
    %{store: store, instance: instance}
  end

  describe "call_exported_function/6" do
    setup :calls

    test "returns :ok and sends {:ok, results} to from", %{store: store, instance: instance} do
      ref = make_ref()

      assert :ok = Instance.call_exported_function(store, instance, "sum", [1, 2], {self(), ref})

      assert_receive {^ref, {:ok, [3]}}, 5_000
    end

    test "sends the reply to another process's from", %{store: store, instance: instance} do
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

    test "a function without results returns an empty list", %{store: store, instance: instance} do
      assert {:ok, []} = call(store, instance, "void", [])
    end

    test "i32 params and results, including the bounds", %{store: store, instance: instance} do
      assert {:ok, [0]} = call(store, instance, "i32", [0])
      assert {:ok, [@max_i32]} = call(store, instance, "i32", [@max_i32])
      assert {:ok, [@min_i32]} = call(store, instance, "i32", [@min_i32])
      assert {:ok, [-1]} = call(store, instance, "minus_one", [])
    end

    test "an i32 of 2^31 is an error, not wrapped", %{store: store, instance: instance} do
      for value <- [@max_i32 + 1, @min_i32 - 1, 4_294_967_295] do
        assert {:error, "Cannot convert argument #1 to a WebAssembly i32 value."} =
                 call(store, instance, "i32", [value])
      end
    end

    test "a float for an i32 is an error", %{store: store, instance: instance} do
      assert {:error, "Cannot convert argument #1 to a WebAssembly i32 value."} =
               call(store, instance, "i32", [1.0])
    end

    test "the argument number is reported", %{store: store, instance: instance} do
      assert {:error, "Cannot convert argument #2 to a WebAssembly i32 value."} =
               call(store, instance, "sum", [1, 2.5])
    end

    test "a non-number names its kind", %{store: store, instance: instance} do
      assert {:error, "Cannot convert argument #1 to a WebAssembly i32 value. Given `Atom`."} =
               call(store, instance, "i32", [:one])

      assert {:error, "Cannot convert argument #2 to a WebAssembly i32 value. Given `Binary`."} =
               call(store, instance, "sum", [1, "2"])
    end

    test "i64 params and results, including the bounds", %{store: store, instance: instance} do
      assert {:ok, [@max_i64]} = call(store, instance, "i64", [@max_i64])
      assert {:ok, [@min_i64]} = call(store, instance, "i64", [@min_i64])

      assert {:error, "Cannot convert argument #1 to a WebAssembly i64 value."} =
               call(store, instance, "i64", [@max_i64 + 1])

      assert {:error, "Cannot convert argument #1 to a WebAssembly i64 value."} =
               call(store, instance, "i64", [2.0])
    end

    test "f32 params take floats and integers", %{store: store, instance: instance} do
      assert {:ok, [1.5]} = call(store, instance, "f32", [1.5])
      assert {:ok, [3.0]} = call(store, instance, "f32", [3])
      assert {:ok, [-0.25]} = call(store, instance, "f32", [-0.25])
      assert {:ok, [narrowed]} = call(store, instance, "f32", [0.1])
      assert_in_delta narrowed, 0.1, 1.0e-7
      assert {:ok, [big]} = call(store, instance, "f32", [3.4e38])
      assert_in_delta big, 3.4e38, 1.0e32
    end

    test "an f32 that does not fit is an error", %{store: store, instance: instance} do
      assert {:error, "Cannot convert argument #1 to a WebAssembly f32 value."} =
               call(store, instance, "f32", [3.5e38])

      assert {:error, "Cannot convert argument #1 to a WebAssembly f32 value. Given `Atom`."} =
               call(store, instance, "f32", [:not_a_number])
    end

    test "f64 params take floats and integers", %{store: store, instance: instance} do
      assert {:ok, [2.25]} = call(store, instance, "f64", [2.25])
      assert {:ok, [2.0]} = call(store, instance, "f64", [2])
      assert {:ok, [1.0e308]} = call(store, instance, "f64", [1.0e308])
      assert {:ok, [-5.0e-324]} = call(store, instance, "f64", [-5.0e-324])
    end

    test "v128 params and results are non-negative integers below 2^128", %{
      store: store,
      instance: instance
    } do
      assert {:ok, [0]} = call(store, instance, "v128", [0])
      assert {:ok, [@max_v128]} = call(store, instance, "v128", [@max_v128])
      value = 0x0102030405060708090A0B0C0D0E0F10
      assert {:ok, [^value]} = call(store, instance, "v128", [value])
    end

    test "a v128 out of range is an error", %{store: store, instance: instance} do
      for value <- [@max_v128 + 1, -1, 1.0] do
        assert {:error, "Cannot convert argument #1 to a WebAssembly v128 value."} =
                 call(store, instance, "v128", [value])
      end
    end

    test "mixed parameter types", %{store: store, instance: instance} do
      assert {:ok, [11.0]} = call(store, instance, "mixed", [1, 2, 3.5, 4.5])
    end

    test "multi-value results come back in order", %{store: store, instance: instance} do
      assert {:ok, [@max_i64, -3, 1.5]} = call(store, instance, "multi", [-3, @max_i64])
    end

    test "reference results cannot cross the boundary", %{store: store, instance: instance} do
      assert {:error, "unable_to_return_func_ref_type"} = call(store, instance, "funcref", [])
      assert {:error, "unable_to_return_extern_ref_type"} = call(store, instance, "externref", [])
    end

    test "an unknown function is an error", %{store: store, instance: instance} do
      assert {:error, "exported function `nope` not found"} = call(store, instance, "nope", [])
    end

    test "an export that is not a function is not found", %{store: store, instance: instance} do
      assert {:error, "exported function `a_global` not found"} =
               call(store, instance, "a_global", [])
    end

    test "the wrong number of params is an error", %{store: store, instance: instance} do
      assert {:error, "number of params does not match. expected 2, got 1"} =
               call(store, instance, "sum", [1])

      assert {:error, "number of params does not match. expected 0, got 1"} =
               call(store, instance, "void", [1])

      assert {:error, "number of params does not match. expected 2, got 3"} =
               call(store, instance, "sum", [1, 2, 3])
    end

    test "a trap is an error and the instance keeps working", %{store: store, instance: instance} do
      assert {:error, reason} = call(store, instance, "trap", [])
      assert String.starts_with?(reason, "Error during function excecution (")
      assert reason =~ "unreachable"
      assert {:ok, [3]} = call(store, instance, "sum", [1, 2])
    end

    # {test, the trapping call, its trap, a call that answers 3 afterwards}
    for {name, {fun, args}, trap, {next, next_args}} <- [
          {"integer division by zero traps", {"div", [1, 0]}, "integer divide by zero",
           {"div", [7, 2]}},
          {"stack overflow from infinite recursion is an error, not a crash", {"recurse", []},
           "call stack exhausted", {"sum", [1, 2]}}
        ] do
      test name, %{store: store, instance: instance} do
        assert_trap(call(store, instance, unquote(fun), unquote(args)), unquote(trap))
        assert {:ok, [3]} = call(store, instance, unquote(next), unquote(next_args))
      end
    end

    test "an infinite loop with a timeout stops with {:error, :timeout}; the instance still answers",
         %{store: store, instance: instance} do
      started = System.monotonic_time(:millisecond)
      assert {:error, :timeout} = call(store, instance, "forever", [], 100)
      elapsed = System.monotonic_time(:millisecond) - started
      assert elapsed >= 100
      assert elapsed < 3_000
      assert {:ok, [3]} = call(store, instance, "sum", [1, 2])
    end

    test "a timeout does not affect a call that finishes in time", %{
      store: store,
      instance: instance
    } do
      assert {:ok, [3]} = call(store, instance, "sum", [1, 2], 1_000)
      assert {:ok, [3]} = call(store, instance, "sum", [1, 2], :infinity)
    end

    test "a long call does not hold the scheduler: other processes keep running", %{
      store: store,
      instance: instance
    } do
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
    setup :calls

    test "returns the results directly", %{store: store, instance: instance} do
      assert {:ok, [5]} = Instance.call(store, instance, "sum", [2, 3])
      assert {:ok, [5]} = Instance.call(store, instance, :sum, [2, 3])
    end

    test "returns errors directly", %{store: store, instance: instance} do
      assert {:error, "exported function `nope` not found"} =
               Instance.call(store, instance, "nope", [])
    end

    test "an infinite loop with a timeout returns {:error, :timeout}; the instance still answers",
         %{store: store, instance: instance} do
      assert {:error, :timeout} = Instance.call(store, instance, "forever", [], 50)
      assert {:ok, [2]} = Instance.call(store, instance, "sum", [1, 1])
    end
  end
end
