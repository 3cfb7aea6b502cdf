defmodule Wasmex.Features.DistributedPoolTest do
  # Pools across nodes: peers started with `:peer` on this machine. Tagged `:distributed`
  # (`mix test --exclude distributed` skips them); they run in a plain `mix test`.
  use ExUnit.Case, async: false

  alias Wasmex.Pool

  @moduletag :distributed
  @moduletag timeout: 120_000

  # `who` calls the import `env.tag` (on the node that runs the guest); `slow` calls
  # `env.sleep`, which sleeps that many milliseconds.
  @wat ~S"""
  (module
    (import "env" "tag" (func $tag (param i32) (result i32)))
    (import "env" "sleep" (func $sleep (param i32) (result i32)))
    (func (export "who") (param i32) (result i32) local.get 0 call $tag)
    (func (export "slow") (param i32) (result i32) local.get 0 call $sleep)
    (func (export "echo") (param i64 f64) (result i64 f64) local.get 0 local.get 1)
    (func (export "boom") unreachable))
  """

  # Compiled on each peer, with that peer's tag: it starts pools (unlinked from the short-lived
  # `:erpc` process) and implements the imports.
  @helper ~S"""
  defmodule WasmexPoolPeer do
    def start_pool(opts) do
      caller = self()

      spawn(fn ->
        send(caller, {:started, Wasmex.Pool.start_link(opts)})
        Process.sleep(:infinity)
      end)

      receive do
        {:started, result} -> result
      after
        10_000 -> {:error, :start_timeout}
      end
    end

    def tag(_context, x), do: x + TAG
    def sleep(_context, ms), do: Process.sleep(ms) && ms
  end
  """

  setup_all do
    Wasmex.PeerHelpers.start_distribution!(:wasmex_pool_test)
  end

  setup do
    %{pool: :"dist_pool_#{System.unique_integer([:positive])}"}
  end

  defp start_peer!(tag) do
    source = String.replace(@helper, "TAG", Integer.to_string(tag))
    Wasmex.PeerHelpers.start_peer!("wasmex_peer_#{tag}", source)
  end

  defp start_remote_pool!(node, pool, opts \\ []) do
    imports = %{
      env: %{
        tag: {:fn, [:i32], [:i32], Function.capture(WasmexPoolPeer, :tag, 2)},
        sleep: {:fn, [:i32], [:i32], Function.capture(WasmexPoolPeer, :sleep, 2)}
      }
    }

    opts = Keyword.merge([name: pool, bytes: @wat, imports: imports, distributed: true], opts)
    {:ok, _} = :erpc.call(node, WasmexPoolPeer, :start_pool, [opts])
    wait_members(pool, node)
  end

  # Until this node's `:pg` scope sees the pool of `node`.
  defp wait_members(pool, node, tries \\ 200) do
    _ = Pool.call_function(:no_pool_at_all, "x", [])
    members = :pg.get_members(Wasmex.Pool.Scope, pool)

    cond do
      Enum.any?(members, &(node(&1) == node)) -> :ok
      tries == 0 -> flunk("the pool on #{node} never joined")
      true -> Process.sleep(20) && wait_members(pool, node, tries - 1)
    end
  end

  defp local_imports(test) do
    %{
      env: %{
        tag: {:fn, [:i32], [:i32], fn _, x -> x end},
        sleep:
          {:fn, [:i32], [:i32],
           fn _, ms ->
             send(test, {:holding, self()})

             receive do
               :go -> ms
             after
               ms -> ms
             end
           end}
      }
    }
  end

  test "a node without the pool calls it on another node; values and errors cross intact",
       %{pool: pool} do
    {_peer, node} = start_peer!(100)
    start_remote_pool!(node, pool)

    assert Pool.call_function(pool, "who", [1]) == {:ok, [101]}
    big = 9_007_199_254_740_993

    assert Pool.call_function(pool, "echo", [big, -1.5e300]) == {:ok, [big, -1.5e300]}

    {:ok, local} = Wasmex.start_link(%{bytes: @wat, imports: local_imports(self())})
    assert {:error, _} = expected = Wasmex.call_function(local, "boom", [])
    assert Pool.call_function(pool, "boom", []) == expected
    assert Pool.call_function(pool, "nope", []) == Wasmex.call_function(local, "nope", [])
    assert Pool.call_function(pool, "slow", [2000], 200) == {:error, :timeout}
  end

  test "spill: true sends calls to another node when the local members are busy",
       %{pool: pool} do
    {_peer, node} = start_peer!(100)
    start_remote_pool!(node, pool)

    start_supervised!(
      {Pool,
       name: pool,
       bytes: @wat,
       imports: local_imports(self()),
       size: 1,
       distributed: true,
       spill: true}
    )

    assert Pool.call_function(pool, "who", [1]) == {:ok, [1]}
    holder = Task.async(fn -> Pool.call_function(pool, "slow", [5000], 10_000) end)
    assert_receive {:holding, runner}, 2000

    assert Pool.call_function(pool, "who", [1]) == {:ok, [101]}
    send(runner, :go)
    assert Task.await(holder, 10_000) == {:ok, [5000]}
    assert Pool.call_function(pool, "who", [1]) == {:ok, [1]}
  end

  test "the less loaded node serves; a node stopped mid-load fails only its own calls",
       %{pool: pool} do
    {peer1, node1} = start_peer!(100)
    {_peer2, node2} = start_peer!(200)
    start_remote_pool!(node1, pool, size: 1)
    start_remote_pool!(node2, pool, size: 1)

    # One node busy: the other one serves.
    slow = Task.async(fn -> Pool.call_function(pool, "slow", [1000], 5000) end)
    Process.sleep(200)
    tags = for _ <- 1..5, do: Pool.call_function(pool, "who", [0])
    assert length(Enum.uniq(tags)) == 1
    assert Task.await(slow) == {:ok, [1000]}

    # Under load, node1 goes away.
    callers =
      for _ <- 1..6 do
        Task.async(fn ->
          for _ <- 1..15, do: Pool.call_function(pool, "slow", [20], 5000)
        end)
      end

    Process.sleep(150)
    :ok = :peer.stop(peer1)
    results = callers |> Enum.map(&Task.await(&1, 60_000)) |> List.flatten()
    down = Enum.filter(results, &match?({:error, {:nodedown, ^node1}}, &1))
    other = Enum.reject(results, &(&1 == {:ok, [20]} or &1 in down))

    assert other == [] or Enum.all?(other, &(&1 == {:error, :overloaded}))
    assert length(down) <= 6

    wait_gone(pool, node1)

    assert for(_ <- 1..10, do: Pool.call_function(pool, "who", [1])) ==
             List.duplicate({:ok, [201]}, 10)

    assert node2 in Node.list()
  end

  defp wait_gone(pool, node, tries \\ 200) do
    if Enum.any?(:pg.get_members(Wasmex.Pool.Scope, pool), &(node(&1) == node)) do
      if tries == 0, do: flunk("#{node} is still a member")
      Process.sleep(20)
      wait_gone(pool, node, tries - 1)
    end
  end
end
