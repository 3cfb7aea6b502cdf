defmodule Wasmex.Features.DiskCacheNodesTest do
  # Two nodes sharing one compiled-code cache directory (lib/wasmex/cache.ex,
  # native/wasmex/src/cache/disk.rs). Starts distribution and peers: not async.
  use ExUnit.Case, async: false

  @moduletag timeout: 120_000

  @helper ~S"""
  defmodule WasmexCachePeer do
    def tag(wat) do
      {:ok, store} = Wasmex.Store.new()
      {:ok, module} = Wasmex.Module.compile(store, wat)
      {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      {:ok, [tag]} = Wasmex.Instance.call(store, instance, "tag", [])
      tag
    end
  end
  """

  setup_all do
    Wasmex.PeerHelpers.start_distribution!(:wasmex_cache_test)
  end

  setup do
    dir = Path.join(System.tmp_dir!(), "wasmex_cache_nodes_#{System.unique_integer([:positive])}")
    on_exit(fn -> File.rm_rf!(dir) end)
    %{dir: dir}
  end

  defp start_peer!(dir) do
    {peer, node} = Wasmex.PeerHelpers.start_peer!("wasmex_cache_peer", @helper)
    :ok = :erpc.call(node, Application, :put_env, [:wasmex, :cache_dir, dir])
    {peer, node}
  end

  defp tag_on(node, wat), do: :erpc.call(node, WasmexCachePeer, :tag, [wat], 60_000)

  test "nodes compiling the same bytes at once share one whole file, and a third node loads it",
       %{dir: dir} do
    tag = System.unique_integer([:positive])
    wat = ~s[(module $shared#{tag} (func (export "tag") (result i32) i32.const #{tag}))]
    peers = for _ <- 1..2, do: start_peer!(dir)

    peers
    |> Enum.map(fn {_, node} -> Task.async(fn -> tag_on(node, wat) end) end)
    |> Enum.each(&assert(Task.await(&1, 60_000) == tag))

    assert [file] = File.ls!(dir)
    assert String.ends_with?(file, ".cwasm")
    inode = File.stat!(Path.join(dir, file)).inode

    {third, node} = start_peer!(dir)
    assert tag_on(node, wat) == tag
    assert File.stat!(Path.join(dir, file)).inode == inode, "the third node compiled again"

    for {peer, _} <- [{third, node} | peers], do: :ok = :peer.stop(peer)
  end
end
