defmodule Wasmex.Features.ServerExitsTest do
  # Issue 8 item 6: a call to a server that is not running, or that dies during the call, returns
  # `{:error, reason}` instead of exiting the caller, and the reason holds no call arguments.
  use ExUnit.Case, async: true

  import Wasmex.TestHelpers
  import Wasmex.ComponentTestHelpers
  import Wasmex.ServerExitHelpers

  alias Wasmex.Components

  @moduletag timeout: 60_000
  @moduletag :capture_log

  describe "Wasmex.call_function/4" do
    test "on a registered name nobody holds returns {:error, :noproc}" do
      assert {:error, :noproc} = Wasmex.call_function(unique_name(), "f", [1])
    end

    test "on a server that has stopped returns {:error, :noproc}" do
      pid = stopped_pid(unlinked_wasmex!())
      assert {:error, :noproc} = Wasmex.call_function(pid, "f", [1])
    end

    test "on a server killed by another process during the call returns {:error, {:exit, :killed}}" do
      pid = unlinked_wasmex!()
      spawn(fn -> Process.sleep(50) && Process.exit(pid, :kill) end)
      assert {:error, {:exit, :killed}} = Wasmex.call_function(pid, "f", [2_000], 5_000)
      refute Process.alive?(pid)
    end

    test "on a server killed by its own import returns {:error, {:exit, :killed}}" do
      pid = unlinked_wasmex!()
      assert {:error, {:exit, :killed}} = Wasmex.call_function(pid, "f", [0])
    end
  end

  describe "Wasmex.Components.call_function/4" do
    test "on a registered name nobody holds returns {:error, :noproc}" do
      assert {:error, :noproc} = Components.call_function(unique_name(), "call-greet", ["x"])
    end

    test "on a server that has stopped returns {:error, :noproc}" do
      pid = stopped_pid(unlinked_component!(fn name -> name end))
      assert {:error, :noproc} = Components.call_function(pid, "call-greet", ["x"])
    end

    test "on a server killed during the call returns {:error, {:exit, :killed}}, no arguments in it" do
      pid = unlinked_component!(fn _name -> Process.exit(self(), :kill) end)
      secret = "an argument that must not show up in the reason"

      assert {:error, {:exit, :killed} = reason} =
               Components.call_function(pid, "call-greet", [secret])

      refute inspect(reason) =~ "must not show up"
    end

    test "a caller that is not linked to the server keeps running" do
      pid = unlinked_component!(fn name -> Process.sleep(2_000) && name end)
      spawn(fn -> Process.sleep(50) && Process.exit(pid, :kill) end)

      {result, alive?} =
        in_bystander(fn -> Components.call_function(pid, "call-greet", ["x"], 5_000) end)

      assert result == {:error, {:exit, :killed}}
      assert alive?
    end
  end

  describe "GuestResource calls given a server" do
    test "on a registered name nobody holds return {:error, :noproc}" do
      path = ["wasmex:resources/counters@1.2.3", "accumulator"]
      name = unique_name()
      assert {:error, :noproc} = Wasmex.Components.GuestResource.new(name, path, [1])

      assert {:error, :noproc} =
               Wasmex.Components.GuestResource.call_static(name, path, :static, :from_sum, [1, 2])
    end

    test "on a stopped server return {:error, :noproc}" do
      pid = start_component!("component_resources")
      Process.unlink(pid)
      path = ["wasmex:resources/counters@1.2.3", "accumulator"]
      assert {:ok, _acc} = Wasmex.Components.GuestResource.new(pid, path, [1])
      stopped_pid(pid)
      assert {:error, :noproc} = Wasmex.Components.GuestResource.new(pid, path, [1])
    end
  end

  describe "a supervised server" do
    defp supervisor(children, opts) do
      %{id: :sup, type: :supervisor, start: {Supervisor, :start_link, [children, opts]}}
    end

    test "answers {:error, :noproc} while it is down and serves again after its restart" do
      name = unique_name()
      child = {Wasmex, %{bytes: slow_wat(), imports: slow_imports(), name: name}}
      sup = start_supervised!(supervisor([child], strategy: :one_for_one))
      assert {:ok, [1]} = Wasmex.call_function(name, "f", [1])

      assert :ok = Supervisor.terminate_child(sup, name)
      assert {:error, :noproc} = Wasmex.call_function(name, "f", [1])

      assert {:ok, _pid} = Supervisor.restart_child(sup, name)
      assert {:ok, [1]} = Wasmex.call_function(name, "f", [1])
    end

    test "callers during kills and restarts get values or errors, never exits" do
      name = unique_name()
      child = {Components, name: name, bytes: component_bytes("component_types")}

      sup = start_supervised!(supervisor([child], strategy: :one_for_one, max_restarts: 100))

      caller =
        Task.async(fn ->
          for _ <- 1..300 do
            Components.call_function(name, "add", [1, 2], 1_000)
          end
        end)

      for _ <- 1..10 do
        Process.sleep(5)
        with pid when is_pid(pid) <- GenServer.whereis(name), do: Process.exit(pid, :kill)
      end

      results = Task.await(caller, 30_000)

      assert Enum.all?(results, fn
               {:ok, 3} -> true
               {:error, :noproc} -> true
               {:error, {:exit, :killed}} -> true
               _ -> false
             end),
             inspect(Enum.uniq(results))

      wait_until(fn -> Components.call_function(name, "add", [1, 2]) == {:ok, 3} end)
      assert Process.alive?(sup)
    end
  end

  describe "Wasmex.Deadline (the reasons)" do
    defmodule Picky do
      @moduledoc false
      use GenServer
      def init(state), do: {:ok, state}
      def handle_call(:known, _from, state), do: {:reply, :ok, state}
    end

    test "a server that crashes on the request gives its exit reason without the request" do
      {:ok, pid} = GenServer.start(Picky, nil)
      request = fn _deadline -> {:call, "a secret argument", 42} end

      assert {:error, {:exit, {:function_clause, [{Picky, :handle_call, 3, _} | _]} = reason}} =
               Wasmex.Deadline.call(pid, request, 1_000)

      refute inspect(reason, limit: :infinity) =~ "secret"
    end

    test "stacktrace arguments become arities, other reasons stay" do
      stacktrace = [{Picky, :handle_call, [{:call, "secret"}, self(), nil], [line: 1]}]

      assert {:exit, {:boom, [{Picky, :handle_call, 3, [line: 1]}]}} =
               Wasmex.Deadline.exit_reason({:boom, stacktrace})

      assert Wasmex.Deadline.exit_reason(:noproc) == :noproc
      assert Wasmex.Deadline.exit_reason(:shutdown) == {:exit, :shutdown}
      assert Wasmex.Deadline.exit_reason({:shutdown, :x}) == {:exit, {:shutdown, :x}}
    end
  end
end
