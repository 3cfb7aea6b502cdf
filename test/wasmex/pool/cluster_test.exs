defmodule Wasmex.Pool.ClusterTest do
  # How a call on another node fails: every way is an `{:error, _}` (the caller never exits),
  # and no reason carries the call's arguments. The calls go to this node through `:erpc`,
  # which reports each failure as it would for a remote node.
  use ExUnit.Case, async: true

  alias Wasmex.Pool.Cluster

  defmodule Remote do
    @moduledoc false
    def ok(value, _timeout), do: {:ok, value}
    def raise_it(_secret, _timeout), do: raise("boom")
    def exit_it(reason, _timeout), do: exit(reason)
    def throw_it(value, _timeout), do: throw(value)
    def sleep(ms, _timeout), do: Process.sleep(ms)

    def crash_with_args(secret, _timeout) do
      # an exit whose stacktrace holds the arguments of a call
      exit({:crashed, [{__MODULE__, :crash_with_args, [secret, :more], [line: 1]}]})
    end
  end

  describe "remote/5" do
    test "returns the remote function's value" do
      assert Cluster.remote(node(), Remote, :ok, [42], 1_000) == {:ok, 42}
    end

    test "a raise is {:remote_exit, node, exception}" do
      assert {:error, {:remote_exit, node, %RuntimeError{message: "boom"}}} =
               Cluster.remote(node(), Remote, :raise_it, ["secret"], 1_000)

      assert node == node()
    end

    test "an exit is {:remote_exit, node, reason}, without the arguments of a stacktrace" do
      assert Cluster.remote(node(), Remote, :exit_it, [:shutdown], 1_000) ==
               {:error, {:remote_exit, node(), :shutdown}}

      assert {:error, {:remote_exit, _, {:crashed, [{Remote, :crash_with_args, 2, _}]}}} =
               Cluster.remote(node(), Remote, :crash_with_args, ["secret"], 1_000)
    end

    test "a throw is {:remote_exit, node, {:nocatch, value}}" do
      assert Cluster.remote(node(), Remote, :throw_it, [:oops], 1_000) ==
               {:error, {:remote_exit, node(), {:nocatch, :oops}}}
    end

    test "a function the node does not have is {:remote_exit, node, :undef}" do
      assert Cluster.remote(node(), Remote, :missing, [1], 1_000) ==
               {:error, {:remote_exit, node(), :undef}}
    end

    test "no answer within the timeout (plus 100 ms) is {:error, :timeout}" do
      assert Cluster.remote(node(), Remote, :sleep, [1_000], 50) == {:error, :timeout}
    end
  end
end
