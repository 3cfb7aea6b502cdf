defmodule Wasmex.Features.FlatValuesTest do
  # The fast path for strings and `list<u8>` (native/wasmex/src/component/flat.rs) and the
  # `list_u8: :binary` result shape (Component.new/3).
  use Wasmex.ComponentCase, async: true

  alias Wasmex.Components.{Component, Instance, Store}

  # Functions of every fast shape, in a component written by hand: a bump allocator, results in
  # a return area at 0.
  @flat_wat """
  (component
    (core module $m
      (memory (export "mem") 17)
      (global $bump (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
        (global.set $bump (i32.add (local.get $p) (local.get 3)))
        (local.get $p))
      (func (export "second") (param i32 i32 i32 i32) (result i32)
        (i32.store (i32.const 0) (local.get 2))
        (i32.store (i32.const 4) (local.get 3))
        (i32.const 0))
      (func (export "third") (param i32 i32 i32 i32 i32 i32) (result i32)
        (i32.store (i32.const 0) (local.get 4))
        (i32.store (i32.const 4) (local.get 5))
        (i32.const 0))
      (func (export "sink") (param i32 i32 i32 i32))
      (func (export "make") (result i32)
        (i32.store8 (i32.const 16) (i32.const 97))
        (i32.store8 (i32.const 17) (i32.const 98))
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 2))
        (i32.const 0))
      (func (export "zeros") (result i32)
        (i32.store (i32.const 0) (i32.const 65536))
        (i32.store (i32.const 4) (i32.const 1048576))
        (i32.const 0))
      (func (export "wild") (result i32)
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 0x7fffffff))
        (i32.const 0)))
    (core instance $i (instantiate $m))
    (func (export "second") (param "a" string) (param "b" (list u8)) (result (list u8))
      (canon lift (core func $i "second") (memory $i "mem") (realloc (func $i "realloc"))))
    (func (export "third") (param "a" (list u8)) (param "b" (list u8)) (param "c" string)
      (result string)
      (canon lift (core func $i "third") (memory $i "mem") (realloc (func $i "realloc"))))
    (func (export "sink") (param "a" string) (param "b" (list u8))
      (canon lift (core func $i "sink") (memory $i "mem") (realloc (func $i "realloc"))))
    (func (export "make") (result (list u8))
      (canon lift (core func $i "make") (memory $i "mem") (realloc (func $i "realloc"))))
    (func (export "zeros") (result (list u8))
      (canon lift (core func $i "zeros") (memory $i "mem") (realloc (func $i "realloc"))))
    (func (export "wild") (result (list u8))
      (canon lift (core func $i "wild") (memory $i "mem") (realloc (func $i "realloc")))))
  """

  defp instance!(source, opts) do
    {:ok, store} = Store.new()
    {:ok, component} = Component.new(store, source, opts)
    {:ok, instance} = Instance.new(store, component, %{})
    instance
  end

  describe "list_u8: :binary" do
    setup do
      %{
        types: instance!(component_bytes("component_types"), list_u8: :binary),
        flat: instance!(@flat_wat, list_u8: :binary)
      }
    end

    test "a list<u8> result is one binary, from a binary or a list argument", %{types: i} do
      assert {:ok, <<1, 2, 3>>} = Instance.call(i, "echo-list-u8", [<<1, 2, 3>>])
      assert {:ok, <<1, 2, 3>>} = Instance.call(i, "echo-list-u8", [[1, 2, 3]])
      assert {:ok, ""} = Instance.call(i, "echo-list-u8", [<<>>])
      assert {:ok, ""} = Instance.call(i, "echo-list-u8", [[]])
    end

    test "16 MiB go in and come back unchanged", %{types: i} do
      bytes = :crypto.strong_rand_bytes(16 * 1024 * 1024)
      assert {:ok, ^bytes} = Instance.call(i, "echo-list-u8", [bytes])
    end

    test "nested list<u8>s stay lists of integers, strings stay strings", %{types: i} do
      assert {:ok, ["a", "b"]} = Instance.call(i, "echo-list-string", [["a", "b"]])
      assert {:ok, "héllo"} = Instance.call(i, "echo-string", ["héllo"])
    end

    test "every fast shape", %{flat: i} do
      assert {:ok, <<9, 8>>} = Instance.call(i, "second", ["text", <<9, 8>>])
      assert {:ok, "c"} = Instance.call(i, "third", [<<1>>, [2, 3], "c"])
      assert {:ok, []} = Instance.call(i, "sink", ["a", <<1>>])
      assert {:ok, "ab"} = Instance.call(i, "make", [])
    end

    test "a server started with list_u8: :binary keeps it across reload/2" do
      bytes = component_bytes("component_types")
      {:ok, pid} = Wasmex.Components.start_link(bytes: bytes, list_u8: :binary)
      assert {:ok, <<1, 2>>} = Wasmex.Components.call_function(pid, "echo-list-u8", [[1, 2]])
      assert :ok = Wasmex.Components.reload(pid, bytes: bytes)
      assert {:ok, <<1, 2>>} = Wasmex.Components.call_function(pid, "echo-list-u8", [[1, 2]])
    end

    test "a small call with a 1 MiB result", %{flat: i} do
      assert {:ok, <<0::size(1_048_576)-unit(8)>>} = Instance.call(i, "zeros", [])
    end

    test "through the server", %{name: name} do
      {:ok, _} =
        Wasmex.Components.start_link(
          bytes: component_bytes("component_types"),
          list_u8: :binary,
          name: name
        )

      assert {:ok, <<7>>} = Wasmex.Components.call_function(name, "echo-list-u8", [<<7>>])
    end
  end

  describe "list_u8: :list (the default, as 0.15.1)" do
    setup do
      %{types: instance!(component_bytes("component_types"), []), flat: instance!(@flat_wat, [])}
    end

    test "a list<u8> result is a list of integers", %{types: i, flat: flat} do
      assert {:ok, [1, 2, 255]} = Instance.call(i, "echo-list-u8", [<<1, 2, 255>>])
      assert {:ok, []} = Instance.call(i, "echo-list-u8", [<<>>])
      assert {:ok, [9, 8]} = Instance.call(flat, "second", ["text", <<9, 8>>])
      assert {:ok, ~c"ab"} = Instance.call(flat, "make", [])
    end

    test "a small call with a 1 MiB result (encoded on a dirty scheduler)", %{flat: i} do
      assert {:ok, list} = Instance.call(i, "zeros", [])
      assert length(list) == 1_048_576
      assert Enum.all?(list, &(&1 == 0))
      assert {:ok, "ab"} = Instance.call(i, "third", [<<>>, <<>>, "ab"])
    end

    test "a 1 MiB list of integers in and out", %{types: i} do
      list = for n <- 1..1_048_576, do: rem(n, 256)
      assert {:ok, ^list} = Instance.call(i, "echo-list-u8", [list])
    end

    test "arguments that are not binaries take the checked path", %{types: i} do
      assert {:ok, "atom"} = Instance.call(i, "echo-string", [:atom])

      assert {:error, "Could not convert Binary to String (argument 1)"} =
               Instance.call(i, "echo-string", [<<255>>])

      assert {:error, "300 is out of range for U8 at \"list[2]\" (argument 1)"} =
               Instance.call(i, "echo-list-u8", [[1, 2, 300]])
    end

    test "a result pointing outside guest memory is an error that breaks the instance",
         %{flat: i} do
      assert {:error, "Error executing function: " <> reason} = Instance.call(i, "wild", [])
      assert reason =~ "out of bounds"
      assert Instance.poisoned?(i)
    end
  end

  describe "Component.new/3 options" do
    test "list_u8 takes :list or :binary" do
      {:ok, store} = Store.new()

      assert_raise ArgumentError, "option :list_u8 must be :list or :binary, got: :bits", fn ->
        Component.new(store, "(component)", list_u8: :bits)
      end

      assert_raise ArgumentError, ~r/unknown keys \[:other\]/, fn ->
        Component.new(store, "(component)", other: 1)
      end
    end
  end
end
