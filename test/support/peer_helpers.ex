defmodule Wasmex.PeerHelpers do
  @moduledoc false
  # Distribution and `:peer` nodes for the tests that span nodes
  # (test/features/distributed_pool_test.exs, test/features/disk_cache_nodes_test.exs).

  @doc "Makes this node distributed (starting epmd) unless it is already."
  def start_distribution!(prefix) do
    {_, 0} = System.cmd("epmd", ["-daemon"])

    unless Node.alive?() do
      {:ok, _} = Node.start(:"#{prefix}_#{System.unique_integer([:positive])}@127.0.0.1")
    end

    :ok
  end

  @doc """
  Starts a peer node (linked to the caller) with this node's code path and cookie, its
  `:logger` started and the Elixir `source` compiled on it. Returns `{peer, node}`.
  """
  def start_peer!(prefix, source) do
    name = ~c"#{prefix}_#{System.unique_integer([:positive])}"
    paths = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])
    cookie = [~c"-setcookie", Atom.to_charlist(Node.get_cookie())]
    # Stopping a peer mid-test is expected: no "overlapping partitions" disconnects.
    quiet = [~c"-kernel", ~c"prevent_overlapping_partitions", ~c"false"]
    args = paths ++ cookie ++ quiet

    {:ok, peer, node} =
      :peer.start_link(%{name: name, host: ~c"127.0.0.1", longnames: true, args: args})

    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:logger])
    [_ | _] = :erpc.call(node, Code, :compile_string, [source])
    {peer, node}
  end
end
