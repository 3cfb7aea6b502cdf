defmodule Wasmex.Components.PoolTest do
  use ExUnit.Case, async: true

  import Wasmex.ComponentTestHelpers
  import Wasmex.PoolTestHelpers, only: [eventually: 1]

  alias Wasmex.Components.Pool

  doctest Wasmex.Components.Pool

  defp start_pool!(fixture, opts \\ []) do
    name = :"component_pool_#{System.unique_integer([:positive])}"
    opts = Keyword.merge([name: name, bytes: component_bytes(fixture), size: 1], opts)
    start_supervised!({Pool, opts}, id: name)
    name
  end

  test "calls root and interface exports like a Wasmex.Components server" do
    pool = start_pool!("component_types", size: 2)
    server = start_component!("component_types")
    assert Pool.call_function(pool, "add", [1, 2]) == {:ok, 3}
    assert Pool.call_function(pool, {"wasmex:test/math@0.1.0", "add"}, [2, 3]) == {:ok, 5}

    for {fun, params} <- [{"missing", []}, {"add", [1]}, {"add", [-1, 2]}] do
      assert {:error, _} = expected = Wasmex.Components.call_function(server, fun, params)
      assert Pool.call_function(pool, fun, params) == expected
    end

    assert Pool.stats(pool).replaced == 0
  end

  test "warm members keep state; fresh: true starts every call anew" do
    warm = start_pool!("component_types")

    assert for(_ <- 1..3, do: Pool.call_function(warm, "counter-inc", [])) == [
             ok: 1,
             ok: 2,
             ok: 3
           ]

    fresh = start_pool!("component_types", fresh: true)

    assert for(_ <- 1..3, do: Pool.call_function(fresh, "counter-inc", [])) == [
             ok: 1,
             ok: 1,
             ok: 1
           ]
  end

  test "Elixir imports run in the member process" do
    test = self()

    imports =
      importer_imports(%{
        "host-add" => {:fn, fn a, b -> send(test, {:import_in, self()}) && a + b end}
      })

    pool = start_pool!("component_imports", imports: imports)
    assert Pool.call_function(pool, "call-host-add", [2, 3]) == {:ok, 5}
    assert_received {:import_in, pid}
    assert pid != self()
    assert Pool.call_function(pool, "call-host-add", [2, 3]) == {:ok, 5}
    assert_received {:import_in, ^pid}
  end

  test "a trap or a timeout replaces the member's instance" do
    pool = start_pool!("component_types")
    {:ok, 1} = Pool.call_function(pool, "counter-inc", [])
    assert {:error, _} = Pool.call_function(pool, "trap", [])
    assert Pool.call_function(pool, "counter-inc", []) == {:ok, 1}

    {elapsed, result} = :timer.tc(fn -> Pool.call_function(pool, "spin", [], 100) end)
    assert result == {:error, :timeout}
    assert elapsed < 1_000_000
    assert Pool.call_function(pool, "counter-inc", []) == {:ok, 1}
    assert %{replaced: 2, size: 1} = Pool.stats(pool)
  end

  test "timeout while waiting and overload" do
    pool = start_pool!("component_types", max_waiting: 1)
    spinner = Task.async(fn -> Pool.call_function(pool, "spin", [], 1500) end)
    Process.sleep(50)
    waiter = Task.async(fn -> Pool.call_function(pool, "add", [1, 2], 300) end)
    Process.sleep(50)
    assert Pool.call_function(pool, "add", [1, 2]) == {:error, :overloaded}
    assert Task.await(waiter) == {:error, :timeout}
    assert Task.await(spinner, 5000) == {:error, :timeout}
    # The member builds its new instance, then drops the call that was given up.
    eventually(fn -> Pool.stats(pool).idle == 1 end)
    assert Pool.call_function(pool, "add", [1, 2]) == {:ok, 3}
  end

  test "a caller that dies does not stop its call; the member serves the next" do
    pool = start_pool!("component_types")
    {:ok, 1} = Pool.call_function(pool, "counter-inc", [])
    spinner = Task.async(fn -> Pool.call_function(pool, "spin", [], 300) end)
    Process.sleep(50)
    Task.shutdown(spinner, :brutal_kill)
    assert Pool.call_function(pool, "counter-inc", [], 5000) == {:ok, 1}
    assert Pool.stats(pool).replaced == 1
  end

  test "reload swaps the component; a failed reload keeps the old one" do
    pool = start_pool!("component_types")
    assert Pool.call_function(pool, "add", [1, 2]) == {:ok, 3}
    assert {:error, "Unable to decode WASM: " <> _} = Pool.reload(pool, bytes: "junk")
    assert Pool.call_function(pool, "add", [1, 2]) == {:ok, 3}

    assert {:error, _} = Pool.reload(pool, path: component_path("component_imports"))
    assert Pool.call_function(pool, "add", [1, 2]) == {:ok, 3}

    assert Pool.reload(pool,
             path: component_path("component_imports"),
             imports: importer_imports()
           ) ==
             :ok

    assert Pool.call_function(pool, "call-host-add", [2, 3]) == {:ok, 5}
  end

  test "options are checked" do
    assert_raise ArgumentError, "Either :bytes or :path must be provided", fn ->
      Pool.start_link(name: :no_code_pool)
    end

    assert_raise ArgumentError,
                 "option :wasi must be a %Wasmex.Wasi.WasiP2Options{}, got: true",
                 fn ->
                   Pool.start_link(name: :bad_wasi_pool, bytes: "(component)", wasi: true)
                 end

    assert {:error, "Only components are supported"} =
             Pool.start_link(name: :wit_pool, bytes: component_bytes("wit_package"))
  end
end
