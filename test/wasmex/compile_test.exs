defmodule Wasmex.CompileTest do
  # `Wasmex.Compile.run/2`: with or without a `:timeout`, a compile that raises, throws or exits
  # does so in the caller with the same kind and reason.
  use ExUnit.Case, async: true

  alias Wasmex.Components.{Component, Store}

  @wit_package "test/fixtures/components/wit_package.wasm"

  describe "a WIT package given to Component.new/3" do
    setup do
      {:ok, store} = Store.new()
      %{store: store, bytes: File.read!(@wit_package)}
    end

    test "raises the same ErlangError with and without a timeout", %{store: store, bytes: bytes} do
      without = assert_raise ErlangError, fn -> Component.new(store, bytes) end

      with_timeout =
        assert_raise ErlangError, fn -> Component.new(store, bytes, timeout: 5_000) end

      assert without.original == :"Only components are supported"
      assert with_timeout.original == without.original
    end
  end

  describe "run/2 with a timeout" do
    test "re-raises an exception in the caller" do
      compile = fn -> raise ArgumentError, "bad input" end
      assert_raise ArgumentError, "bad input", fn -> Wasmex.Compile.run(compile, 1_000) end
      assert_raise ArgumentError, "bad input", fn -> Wasmex.Compile.run(compile, :infinity) end
    end

    test "re-throws a throw and re-exits an exit" do
      assert catch_throw(Wasmex.Compile.run(fn -> throw(:thrown) end, 1_000)) == :thrown
      assert catch_exit(Wasmex.Compile.run(fn -> exit(:gone) end, 1_000)) == :gone
    end

    test "the stacktrace is the compile's" do
      compile = fn -> :erlang.error(:boom) end

      {kind, reason, stacktrace} =
        try do
          Wasmex.Compile.run(compile, 1_000)
        catch
          kind, reason -> {kind, reason, __STACKTRACE__}
        end

      assert {kind, reason} == {:error, :boom}
      assert Enum.any?(stacktrace, &match?({__MODULE__, _fun, _arity, _location}, &1))
    end

    test "returns the compile's result and times out a compile that takes too long" do
      assert Wasmex.Compile.run(fn -> {:ok, :compiled} end, 1_000) == {:ok, :compiled}
      assert Wasmex.Compile.run(fn -> Process.sleep(5_000) end, 50) == {:error, :timeout}
    end
  end
end
