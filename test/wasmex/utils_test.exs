defmodule Wasmex.UtilsTest do
  use Wasmex.Case, async: true

  alias Wasmex.Utils

  describe "stringify_keys/1" do
    test "turns atom keys into strings, recursively" do
      assert Utils.stringify_keys(%{env: %{sum: 1, nested: %{deep: :value}}}) ==
               %{"env" => %{"sum" => 1, "nested" => %{"deep" => :value}}}
    end

    test "keeps string keys" do
      assert Utils.stringify_keys(%{"env" => %{"sum" => 1}, other: %{"x" => 2}}) ==
               %{"env" => %{"sum" => 1}, "other" => %{"x" => 2}}
    end

    test "walks lists" do
      assert Utils.stringify_keys([%{a: 1}, [%{b: [%{c: 2}]}], 3]) ==
               [%{"a" => 1}, [%{"b" => [%{"c" => 2}]}], 3]
    end

    test "leaves structs alone" do
      struct = %Wasmex.StoreLimits{memory_size: 1}
      assert Utils.stringify_keys(%{limits: struct}) == %{"limits" => struct}
      assert Utils.stringify_keys(struct) == struct
    end

    test "leaves values that are not keys alone" do
      fun = fn -> :ok end

      assert Utils.stringify_keys(%{f: {:fn, [:i32], [], fun}}) == %{
               "f" => {:fn, [:i32], [], fun}
             }

      assert Utils.stringify_keys(:atom) == :atom
      assert Utils.stringify_keys(42) == 42
      assert Utils.stringify_keys("text") == "text"
    end

    test "an empty map stays empty" do
      assert Utils.stringify_keys(%{}) == %{}
    end
  end

  describe "stringify/1" do
    test "turns an atom into a string" do
      assert Utils.stringify(:sum) == "sum"
      assert Utils.stringify(:"with space") == "with space"
    end

    test "keeps a string" do
      assert Utils.stringify("sum") == "sum"
    end
  end

  describe "native_timeout/1" do
    test ":infinity means no timeout" do
      assert Utils.native_timeout(:infinity) == nil
    end

    test "milliseconds pass through" do
      assert Utils.native_timeout(5_000) == 5_000
      assert Utils.native_timeout(0) == 0
    end
  end
end
