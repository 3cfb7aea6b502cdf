defmodule Wasmex.MemoryTest do
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, Memory, StoreLimits}

  @page 65_536

  @wat ~S"""
  (module
    (memory (export "memory") 1 4)
    (data (i32.const 0) "Hello, Wasm!")
    (data (i32.const 16) "\00\ff\80")
    (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
    (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.store8)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "pages") (result i32) memory.size))
  """

  defp memory_instance!(opts \\ []) do
    {store, _module, instance} = instantiate!(@wat, %{}, opts)
    {store, instance, memory!(store, instance)}
  end

  defp memory_instance(_context) do
    {store, instance, memory} = memory_instance!()
    %{store: store, instance: instance, memory: memory}
  end

  # Every test gets a fresh instance of @wat: `store`, `instance` and its `memory`.
  setup :memory_instance

  describe "from_instance/2" do
    test "returns the exported memory" do
      {store, _module, instance} = instantiate!(@wat)

      assert {:ok, %Memory{resource: resource, reference: reference}} =
               Memory.from_instance(store, instance)

      assert is_reference(resource) and is_reference(reference)
    end

    test "finds a memory whatever its export name" do
      {store, _module, instance} = instantiate!(~S[(module (memory (export "heap") 2))])
      assert {:ok, memory} = Memory.from_instance(store, instance)
      assert Memory.size(store, memory) == 2 * @page
    end

    test "is an error when the instance exports no memory" do
      {store, _module, instance} = instantiate!(~S[(module (memory 1))])

      assert {:error, "The WebAssembly module has no exported memory."} =
               Memory.from_instance(store, instance)
    end

    test "two handles to the same memory see the same bytes" do
      {store, instance, memory} = memory_instance!()
      assert {:ok, again} = Memory.from_instance(store, instance)
      assert :ok = Memory.write_binary(store, memory, 100, "shared")
      assert Memory.read_binary(store, again, 100, 6) == "shared"
    end
  end

  describe "size/2" do
    test "is the size in bytes", %{store: store, memory: memory} do
      assert Memory.size(store, memory) == @page
    end

    test "follows growth by the guest", %{store: store, instance: instance, memory: memory} do
      assert {:ok, [1]} = call(store, instance, "grow", [2])
      assert Memory.size(store, memory) == 3 * @page
    end
  end

  describe "grow/3" do
    test "returns the number of pages before growing", %{
      store: store,
      instance: instance,
      memory: memory
    } do
      assert Memory.grow(store, memory, 1) == 1
      assert Memory.grow(store, memory, 2) == 2
      assert Memory.size(store, memory) == 4 * @page
      assert {:ok, [4]} = call(store, instance, "pages", [])
    end

    test "growing by 0 pages returns the current size", %{store: store, memory: memory} do
      assert Memory.grow(store, memory, 0) == 1
      assert Memory.size(store, memory) == @page
    end

    test "growing past the declared maximum is an error", %{store: store, memory: memory} do
      assert {:error, "Failed to grow the memory: " <> _} = Memory.grow(store, memory, 4)
      assert Memory.size(store, memory) == @page
    end

    test "growing past StoreLimits.memory_size is an error; the guest's memory.grow returns -1" do
      {store, instance, memory} =
        memory_instance!(store: store!(%StoreLimits{memory_size: 2 * @page}))

      assert Memory.grow(store, memory, 1) == 1

      assert {:error, "Failed to grow the memory: failed to grow memory by `1`."} =
               Memory.grow(store, memory, 1)

      assert {:ok, [-1]} = call(store, instance, "grow", [1])
      assert Memory.size(store, memory) == 2 * @page
    end

    test "growing a memory past 64 MiB (its store's calls move to dirty schedulers)" do
      {store, _module, instance} = instantiate!(~S[(module (memory (export "memory") 1)
          (func (export "last") (result i32) (i32.load8_u (i32.const 134217727))))])

      memory = memory!(store, instance)
      assert Memory.grow(store, memory, 2047) == 1
      assert Memory.size(store, memory) == 2048 * @page
      assert :ok = Memory.write_binary(store, memory, 2048 * @page - 1, <<7>>)
      assert {:ok, [7]} = call(store, instance, "last", [])
    end

    test "new pages are zeroed", %{store: store, memory: memory} do
      assert Memory.grow(store, memory, 1) == 1
      assert Memory.read_binary(store, memory, @page, 16) == :binary.copy(<<0>>, 16)
    end

    test "rejects a negative page count", %{store: store, memory: memory} do
      assert_raise FunctionClauseError, fn -> Memory.grow(store, memory, -1) end
    end
  end

  describe "get_byte/3" do
    test "reads bytes written by data segments and by the guest", %{
      store: store,
      instance: instance,
      memory: memory
    } do
      assert Memory.get_byte(store, memory, 0) == ?H
      assert Memory.get_byte(store, memory, 17) == 255
      assert Memory.get_byte(store, memory, 1000) == 0
      assert {:ok, []} = call(store, instance, "store8", [1000, 77])
      assert Memory.get_byte(store, memory, 1000) == 77
    end

    test "the last byte is readable", %{store: store, memory: memory} do
      assert Memory.get_byte(store, memory, @page - 1) == 0
    end
  end

  describe "set_byte/4" do
    test "writes a byte that the guest reads", %{store: store, instance: instance, memory: memory} do
      assert :ok = Memory.set_byte(store, memory, 42, 200)
      assert Memory.get_byte(store, memory, 42) == 200
      assert {:ok, [200]} = call(store, instance, "load8", [42])
    end

    test "accepts 0 and 255", %{store: store, memory: memory} do
      assert :ok = Memory.set_byte(store, memory, 1, 0)
      assert :ok = Memory.set_byte(store, memory, 2, 255)
      assert Memory.read_binary(store, memory, 1, 2) == <<0, 255>>
    end

    test "a value above 255 is an error and nothing is written", %{store: store, memory: memory} do
      assert {:error, reason} = Memory.set_byte(store, memory, 0, 300)
      assert is_binary(reason)
      assert Memory.get_byte(store, memory, 0) == ?H
    end

    test "a negative value is an error", %{store: store, memory: memory} do
      assert {:error, _} = Memory.set_byte(store, memory, 0, -1)
      assert Memory.get_byte(store, memory, 0) == ?H
    end
  end

  describe "read_binary/4" do
    test "reads a range", %{store: store, memory: memory} do
      assert Memory.read_binary(store, memory, 0, 12) == "Hello, Wasm!"
      assert Memory.read_binary(store, memory, 7, 4) == "Wasm"
    end

    test "returns bytes that are not UTF-8 unchanged", %{store: store, memory: memory} do
      assert Memory.read_binary(store, memory, 16, 3) == <<0, 255, 128>>
    end

    test "a length of 0 is an empty binary", %{store: store, memory: memory} do
      assert Memory.read_binary(store, memory, 5, 0) == ""
    end

    test "the whole memory can be read", %{store: store, memory: memory} do
      bytes = Memory.read_binary(store, memory, 0, @page)
      assert byte_size(bytes) == @page
      assert binary_part(bytes, 0, 5) == "Hello"
    end

    test "a range running past the end is an error", %{store: store, memory: memory} do
      assert {:error, "out of bounds memory access"} =
               Memory.read_binary(store, memory, @page - 2, 3)

      assert {:error, "out of bounds memory access"} =
               Memory.read_binary(store, memory, @page + 1, 0)
    end

    test "a range whose end overflows is an error", %{store: store, memory: memory} do
      assert {:error, "out of bounds memory access"} =
               Memory.read_binary(store, memory, 1, 18_446_744_073_709_551_615)
    end

    test "a negative index or length raises ArgumentError", %{store: store, memory: memory} do
      assert_raise ArgumentError, fn -> Memory.read_binary(store, memory, -1, 1) end
      assert_raise ArgumentError, fn -> Memory.read_binary(store, memory, 0, -1) end
    end

    test "a memory cannot be read through another store", %{memory: memory} do
      assert {:error, reason} = Memory.read_binary(store!(), memory, 0, 1)
      assert is_binary(reason)
    end
  end

  describe "read_string/4" do
    test "reads text", %{store: store, memory: memory} do
      assert Memory.read_string(store, memory, 0, 5) == "Hello"
    end

    test "returns the bytes as they are", %{store: store, memory: memory} do
      assert Memory.read_string(store, memory, 16, 3) == <<0, 255, 128>>
    end
  end

  describe "write_binary/4" do
    test "writes bytes that the guest reads", %{store: store, instance: instance, memory: memory} do
      assert :ok = Memory.write_binary(store, memory, 500, "abc")
      assert {:ok, [?b]} = call(store, instance, "load8", [501])
    end

    test "is binary safe: every byte value round trips", %{store: store, memory: memory} do
      all = :binary.list_to_bin(Enum.to_list(0..255))
      assert :ok = Memory.write_binary(store, memory, 1000, all)
      assert Memory.read_binary(store, memory, 1000, 256) == all
      assert :ok = Memory.write_binary(store, memory, 2000, <<0, 255, 128>>)
      assert Memory.read_binary(store, memory, 2000, 3) == <<0, 255, 128>>
    end

    test "writing an empty binary is fine", %{store: store, memory: memory} do
      assert :ok = Memory.write_binary(store, memory, 0, "")
      assert Memory.read_binary(store, memory, 0, 5) == "Hello"
    end

    test "writes up to the very end", %{store: store, memory: memory} do
      assert :ok = Memory.write_binary(store, memory, @page - 2, "ok")
      assert Memory.read_binary(store, memory, @page - 2, 2) == "ok"
    end

    test "a range running past the end is an error and nothing is written", %{
      store: store,
      memory: memory
    } do
      assert {:error, "out of bounds memory access"} =
               Memory.write_binary(store, memory, @page - 2, "abc")

      assert Memory.read_binary(store, memory, @page - 2, 2) == <<0, 0>>
    end

    test "rejects a non-binary", %{store: store, memory: memory} do
      assert_raise FunctionClauseError, fn -> Memory.write_binary(store, memory, 0, [1, 2]) end
    end
  end

  # The accessors share their index checks: the same error past the end, ArgumentError below 0.
  describe "index checks" do
    for {fun, rest} <- [get_byte: [], set_byte: [1], read_string: [1]] do
      test "#{fun}: out of bounds is an error", %{store: store, memory: memory} do
        assert {:error, "out of bounds memory access"} =
                 apply(Memory, unquote(fun), [store, memory, @page | unquote(rest)])
      end
    end

    for {fun, rest} <- [get_byte: [], set_byte: [1], write_binary: ["x"]] do
      test "#{fun}: a negative index raises ArgumentError", %{store: store, memory: memory} do
        assert_raise ArgumentError, fn ->
          apply(Memory, unquote(fun), [store, memory, -1 | unquote(rest)])
        end
      end
    end
  end

  test "Instance.memory/2 returns the same memory" do
    {store, instance, memory} = memory_instance!()
    assert {:ok, via_instance} = Instance.memory(store, instance)
    assert :ok = Memory.write_binary(store, via_instance, 3000, "x")
    assert Memory.get_byte(store, memory, 3000) == ?x
  end
end
