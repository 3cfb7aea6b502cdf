defmodule Wasmex.Components.PoolListU8Test do
  # `Wasmex.Components.Pool` takes `list_u8:` as `Wasmex.Components.start_link/1` does, and
  # keeps it across `reload/2`.
  use ExUnit.Case, async: true

  import Wasmex.ComponentTestHelpers

  alias Wasmex.Components.Pool

  defp start_pool!(opts) do
    name = :"list_u8_pool_#{System.unique_integer([:positive])}"
    opts = Keyword.merge([name: name, bytes: component_bytes("component_types"), size: 1], opts)
    start_supervised!({Pool, opts}, id: name)
    name
  end

  test "list_u8: :binary makes list<u8> results binaries, also after a reload" do
    pool = start_pool!(list_u8: :binary)
    assert {:ok, <<1, 2>>} = Pool.call_function(pool, "echo-list-u8", [[1, 2]])
    assert :ok = Pool.reload(pool, bytes: component_bytes("component_types"))
    assert {:ok, <<3>>} = Pool.call_function(pool, "echo-list-u8", [<<3>>])
  end

  test "the default is a list of integers, as in a server" do
    pool = start_pool!(list_u8: :list)
    assert {:ok, [1, 2]} = Pool.call_function(pool, "echo-list-u8", [<<1, 2>>])
    assert {:ok, [1, 2]} = Pool.call_function(start_pool!([]), "echo-list-u8", [<<1, 2>>])
  end

  test "other values are refused, naming the option" do
    assert_raise ArgumentError, "option :list_u8 must be :list or :binary, got: :bits", fn ->
      Pool.start_link(
        name: :bad_list_u8_pool,
        bytes: component_bytes("component_types"),
        list_u8: :bits
      )
    end
  end
end
