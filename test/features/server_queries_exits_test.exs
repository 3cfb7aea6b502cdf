defmodule Wasmex.Features.ServerQueriesExitsTest do
  # Issue 8 item 6 for the functions besides `call_function/4` that reach a server
  # (`memory/1`, `store/1`, `module/1`, `instance/1`, `Wasmex.Components.instance/1`): a server
  # that is not running, or that dies while the caller waits, is `{:error, :noproc}` or
  # `{:error, {:exit, reason}}`, not an exit of the caller. `function_exists/2` stays a boolean:
  # `false`.
  use ExUnit.Case, async: true

  import Wasmex.TestHelpers
  import Wasmex.ServerExitHelpers

  alias Wasmex.Components

  @moduletag timeout: 60_000
  @moduletag :capture_log

  # Every query of a `Wasmex` server, as `{name, fun}`.
  defp queries do
    [
      memory: &Wasmex.memory/1,
      store: &Wasmex.store/1,
      module: &Wasmex.module/1,
      instance: &Wasmex.instance/1
    ]
  end

  # Runs `query` in a process that is not linked to the server while the server runs a call that
  # `busy` starts, kills the server while the query waits, and returns the query's result.
  defp answer_while_killed(pid, busy, query) do
    busy_task = Task.async(busy)
    # The call is running (its import sleeps) before the query is sent.
    Process.sleep(100)
    spawn(fn -> Process.sleep(100) && Process.exit(pid, :kill) end)
    {result, alive?} = in_bystander(fn -> query.(pid) end)
    assert alive?, "the caller of the query exited"
    assert {:error, {:exit, :killed}} = Task.await(busy_task, 10_000)
    result
  end

  describe "Wasmex queries" do
    test "answer while the server runs" do
      pid = unlinked_wasmex!()
      assert Wasmex.function_exists(pid, "f") == true
      assert {:error, "The WebAssembly module has no exported memory."} = Wasmex.memory(pid)
      assert {:ok, %Wasmex.StoreOrCaller{}} = Wasmex.store(pid)
      assert {:ok, %Wasmex.Module{}} = Wasmex.module(pid)
      assert {:ok, %Wasmex.Instance{}} = Wasmex.instance(pid)
    end

    test "on a registered name nobody holds return {:error, :noproc}" do
      name = unique_name()
      for {query, fun} <- queries(), do: assert({query, {:error, :noproc}} == {query, fun.(name)})
      assert Wasmex.function_exists(name, "f") == false
    end

    test "on a server that has stopped return {:error, :noproc}" do
      pid = stopped_pid(unlinked_wasmex!())
      for {query, fun} <- queries(), do: assert({query, {:error, :noproc}} == {query, fun.(pid)})
      assert Wasmex.function_exists(pid, "f") == false
    end

    test "module/1 waiting behind a call on a server that is killed returns {:error, {:exit, :killed}}" do
      pid = unlinked_wasmex!()
      busy = fn -> Wasmex.call_function(pid, "f", [3_000], 10_000) end
      assert {:error, {:exit, :killed}} = answer_while_killed(pid, busy, &Wasmex.module/1)
    end

    test "the handles answer while a call runs, without waiting for it" do
      pid = unlinked_wasmex!()
      busy = Task.async(fn -> Wasmex.call_function(pid, "f", [1_000], 5_000) end)
      Process.sleep(100)
      {ms, {:ok, %Wasmex.Instance{}}} = timed_ms(fn -> Wasmex.instance(pid) end)
      assert ms < 500
      assert {:ok, [1_000]} = Task.await(busy)
    end
  end

  describe "Wasmex.Components.instance/1" do
    test "on a registered name nobody holds returns {:error, :noproc}" do
      assert Components.instance(unique_name()) == {:error, :noproc}
    end

    test "on a server that has stopped returns {:error, :noproc}" do
      pid = stopped_pid(unlinked_component!(fn name -> name end))
      assert Components.instance(pid) == {:error, :noproc}
    end

    test "waiting behind a call on a server that is killed returns {:error, {:exit, :killed}}" do
      pid = unlinked_component!(fn name -> Process.sleep(3_000) && name end)
      busy = fn -> Components.call_function(pid, "call-greet", ["x"], 10_000) end
      assert {:error, {:exit, :killed}} = answer_while_killed(pid, busy, &Components.instance/1)
    end

    test "answers the instance of a running server" do
      pid = unlinked_component!(fn name -> name end)
      assert %Components.Instance{} = Components.instance(pid)
    end
  end
end
