defmodule Wasmex.Features.GuestOutputWiringTest do
  # Issue 8 item 5: `log_output: true` sends guest lines to Logger from every process that runs
  # calls: servers started with a `:store` made with it, and the members of `Wasmex.Pool` and
  # `Wasmex.Components.Pool` (whose lines also name the pool).
  use Wasmex.ComponentCase, async: false

  import ExUnit.CaptureLog
  import Wasmex.WatFixtures, only: [fd_write: 3]

  alias Wasmex.Components
  alias Wasmex.Wasi.{WasiOptions, WasiP2Options}

  @metadata [:wasm_stream, :wasm_server, :wasm_function, :wasm_pool]

  # `say` writes "from the guest\n" to stdout.
  @wat fd_write("from the guest\n", 1, 1)

  defp logged(fun), do: capture_log([metadata: @metadata], fun)

  # A pid or a name as Logger's console format shows it in metadata, escaped for a regex.
  defp shown(pid) when is_pid(pid),
    do: pid |> :erlang.pid_to_list() |> to_string() |> Regex.escape()

  defp shown(name),
    do: name |> Atom.to_string() |> String.replace_prefix("Elixir.", "") |> Regex.escape()

  defp unique(prefix), do: :"#{prefix}#{System.unique_integer([:positive])}"

  defp start_pool!(module, opts) do
    name = unique("LoggingPool")
    start_supervised!({module, [name: name, size: 1] ++ opts}, id: name)
    name
  end

  setup do
    Logger.metadata([])
    :ok
  end

  describe "servers started with :store" do
    test "a core server logs the lines of a store made with log_output: true" do
      {:ok, store} = Wasmex.Store.new_wasi(%WasiOptions{log_output: true})
      name = unique("StoreLoggingServer")
      {:ok, pid} = Wasmex.start_link(%{bytes: @wat, store: store, name: name})

      log = logged(fn -> assert {:ok, []} = Wasmex.call_function(pid, "say", []) end)

      assert log =~
               ~r/wasm_stream=stdout wasm_server=#{shown(name)} wasm_function=say.*from the guest/s
    end

    test "a core server with a store made without it logs nothing" do
      {:ok, pipe} = Wasmex.Pipe.new()
      {:ok, store} = Wasmex.Store.new_wasi(%WasiOptions{stdout: pipe})
      {:ok, pid} = Wasmex.start_link(%{bytes: @wat, store: store})

      log = logged(fn -> assert {:ok, []} = Wasmex.call_function(pid, "say", []) end)

      refute log =~ "from the guest"
      Wasmex.Pipe.seek(pipe, 0)
      assert Wasmex.Pipe.read(pipe) == "from the guest\n"
    end

    test "a component server logs the lines of a store made with log_output: true" do
      {:ok, store} = Components.Store.new_wasi(%WasiP2Options{log_output: true})
      pid = start_component!("component_wasi", store: store)

      log =
        logged(fn -> assert {:ok, "args=" <> _} = Components.call_function(pid, "run", []) end)

      assert log =~
               ~r/wasm_stream=stdout wasm_server=#{shown(pid)} wasm_function=run.*out: hello/

      assert log =~ ~r/wasm_stream=stderr .*wasm_function=run.*err: hello/
    end
  end

  describe "Wasmex.Pool members" do
    test "log with the pool and the member in the metadata (from :wasi)" do
      pool = start_pool!(Wasmex.Pool, bytes: @wat, wasi: %WasiOptions{log_output: true})
      member = Wasmex.Pool.Info.member_name(pool, 1)

      log = logged(fn -> assert {:ok, []} = Wasmex.Pool.call_function(pool, "say", []) end)

      assert log =~
               ~r/wasm_stream=stdout wasm_server=#{shown(member)} wasm_function=say wasm_pool=#{shown(pool)}.*from the guest/s
    end

    test "log from a :store template, in fresh members too" do
      {:ok, store} = Wasmex.Store.new_wasi(%WasiOptions{log_output: true})
      pool = start_pool!(Wasmex.Pool, bytes: @wat, store: store, fresh: true)

      log =
        logged(fn ->
          assert {:ok, []} = Wasmex.Pool.call_function(pool, "say", [])
          assert {:ok, []} = Wasmex.Pool.call_function(pool, "say", [])
        end)

      assert [_, _] = Regex.scan(~r/wasm_pool=#{shown(pool)}.*from the guest/, log)
    end

    test "without log_output log nothing" do
      pool = start_pool!(Wasmex.Pool, bytes: @wat, wasi: %WasiOptions{})
      log = logged(fn -> assert {:ok, []} = Wasmex.Pool.call_function(pool, "say", []) end)
      refute log =~ "from the guest"
    end
  end

  describe "Wasmex.Components.Pool members" do
    test "log with the pool in the metadata" do
      pool =
        start_pool!(Components.Pool,
          bytes: component_bytes("component_wasi"),
          wasi: %WasiP2Options{log_output: true}
        )

      log =
        logged(fn ->
          assert {:ok, "args=" <> _} = Components.Pool.call_function(pool, "run", [])
        end)

      assert log =~
               ~r/wasm_stream=stdout .*wasm_function=run wasm_pool=#{shown(pool)}.*out: hello/

      assert log =~ ~r/wasm_stream=stderr .*wasm_pool=#{shown(pool)}.*err: hello/
    end
  end
end
