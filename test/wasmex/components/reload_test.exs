defmodule Wasmex.Components.ReloadTest do
  # `Wasmex.Components.reload/2`: new code for one server while calls go on (issue 9 item 2).
  use ExUnit.Case, async: true

  alias Wasmex.Components

  # A component whose export `v` answers `n`.
  defp answering(n) do
    """
    (component
      (core module $m (func (export "v") (result i32) i32.const #{n}))
      (core instance $i (instantiate $m))
      (func (export "v") (result u32) (canon lift (core func $i "v"))))
    """
  end

  # A component whose export `v` answers what its import `get` returns, plus `n`.
  defp importing(n) do
    """
    (component
      (import "get" (func $get (result u32)))
      (core func $get_core (canon lower (func $get)))
      (core module $m
        (import "host" "get" (func $get (result i32)))
        (func (export "v") (result i32) call $get i32.const #{n} i32.add))
      (core instance $h (export "get" (func $get_core)))
      (core instance $i (instantiate $m (with "host" (instance $h))))
      (func (export "v") (result u32) (canon lift (core func $i "v"))))
    """
  end

  defp start!(bytes, opts \\ []) do
    {:ok, pid} = Components.start_link([bytes: bytes] ++ opts)
    pid
  end

  test "later calls run the new code" do
    pid = start!(answering(1))
    assert Components.call_function(pid, "v", []) == {:ok, 1}
    assert Components.reload(pid, bytes: answering(2)) == :ok
    assert Components.call_function(pid, "v", []) == {:ok, 2}
  end

  test "takes :path and new :imports, and keeps the old imports without them" do
    path = Path.join(System.tmp_dir!(), "reload_#{System.unique_integer([:positive])}.wat")
    File.write!(path, importing(10))
    on_exit(fn -> File.rm(path) end)

    pid = start!(importing(0), imports: %{"get" => {:fn, fn -> 1 end}})
    assert Components.call_function(pid, "v", []) == {:ok, 1}
    assert Components.reload(pid, path: path) == :ok
    assert Components.call_function(pid, "v", []) == {:ok, 11}

    assert Components.reload(pid, %{bytes: importing(0), imports: %{"get" => {:fn, fn -> 5 end}}}) ==
             :ok

    assert Components.call_function(pid, "v", []) == {:ok, 5}
  end

  test "a call already running finishes on the old code; reload answers after it" do
    test = self()

    get = fn ->
      send(test, {:in_import, self()})

      receive do
        :go -> 100
      end
    end

    pid = start!(importing(1), imports: %{"get" => {:fn, get}})
    running = Task.async(fn -> Components.call_function(pid, "v", []) end)
    assert_receive {:in_import, server}

    reload = Task.async(fn -> Components.reload(pid, bytes: answering(7)) end)
    refute Task.yield(reload, 100)
    send(server, :go)

    assert Task.await(running) == {:ok, 101}
    assert Task.await(reload) == :ok
    assert Components.call_function(pid, "v", []) == {:ok, 7}
  end

  test "new code that fails to compile or instantiate is an error and the old code serves" do
    pid = start!(answering(1))
    assert {:error, _} = Components.reload(pid, bytes: "(component (oops))")
    assert {:error, _} = Components.reload(pid, bytes: importing(0))
    assert {:error, :enoent} = Components.reload(pid, path: "/nonexistent/x.wasm")
    assert Components.call_function(pid, "v", []) == {:ok, 1}
  end

  test "no call fails or is lost while the code is reloaded again and again" do
    pid = start!(answering(0))

    callers =
      for _ <- 1..4 do
        Task.async(fn ->
          for _ <- 1..200, do: Components.call_function(pid, "v", [])
        end)
      end

    for n <- 1..20, do: assert(Components.reload(pid, bytes: answering(n)) == :ok)

    results = callers |> Enum.map(&Task.await(&1, 30_000)) |> List.flatten()
    assert length(results) == 800
    assert Enum.all?(results, &match?({:ok, n} when n in 0..20, &1))
    assert Components.call_function(pid, "v", []) == {:ok, 20}
  end

  test "options are checked, and a server that is not running is an error" do
    pid = start!(answering(1))

    assert_raise ArgumentError, ~r/exactly one of :bytes or :path/, fn ->
      Components.reload(pid, [])
    end

    assert_raise ArgumentError, fn -> Components.reload(pid, bytes: "x", nope: 1) end
    assert Components.reload(:no_such_server, bytes: answering(1)) == {:error, :noproc}
  end

  describe "watch: true" do
    import ExUnit.CaptureLog
    import Wasmex.PoolTestHelpers, only: [eventually: 1]

    defp watched_file!(source) do
      path = Path.join(System.tmp_dir!(), "watch_#{System.unique_integer([:positive])}.wat")
      File.write!(path, source)
      on_exit(fn -> File.rm(path) end)
      path
    end

    test "reloads the server when the :path file changes" do
      path = watched_file!(answering(1))
      {:ok, pid} = Components.start_link(path: path, watch: true)
      assert Components.call_function(pid, "v", []) == {:ok, 1}

      # A different size, so that a change within the same second is seen too.
      File.write!(path, answering(2) <> "\n")
      eventually(fn -> Components.call_function(pid, "v", []) == {:ok, 2} end)
    end

    test "a change that does not compile is logged and the old code serves on" do
      path = watched_file!(answering(1))
      name = :"watched_#{System.unique_integer([:positive])}"
      {:ok, pid} = Components.start_link(path: path, watch: true, name: name)

      log =
        capture_log(fn ->
          File.write!(path, "not a component")
          Process.sleep(600)
        end)

      assert log =~ "Wasmex.Components server #{inspect(name)}: reload failed: "
      assert Components.call_function(pid, "v", []) == {:ok, 1}

      File.write!(path, answering(3))
      eventually(fn -> Components.call_function(pid, "v", []) == {:ok, 3} end)
    end

    test "the watcher stops with its server, also when the server stops normally" do
      path = watched_file!(answering(1))
      {:ok, pid} = Components.start_link(path: path, watch: true)
      {:links, links} = Process.info(pid, :links)
      [watcher] = Enum.filter(links, &(&1 != self()))
      ref = Process.monitor(watcher)

      GenServer.stop(pid, :normal)
      assert_receive {:DOWN, ^ref, :process, ^watcher, _reason}, 1_000
    end

    test "the option is checked" do
      assert_raise ArgumentError, ~r/option :watch must be a boolean, got: "yes"/, fn ->
        Components.start_link(path: watched_file!(answering(1)), watch: "yes")
      end

      assert_raise ArgumentError, ~r/option :watch must be used with a :path/, fn ->
        Components.start_link(bytes: answering(1), watch: true)
      end

      {:ok, pid} = Components.start_link(bytes: answering(1), watch: false)
      assert {:links, [_test]} = Process.info(pid, :links)
    end
  end
end
