defmodule WasmexTest do
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, Memory, Module, Pipe, Store, StoreOrCaller}
  alias Wasmex.Wasi.WasiOptions

  @moduletag timeout: 60_000
  @moduletag :capture_log

  @math_wat Wasmex.WatFixtures.math()

  @unknown_import_wat ~S[(module (import "env" "f" (func)) (func (export "g") call 0))]

  @wasi_fixture "wasi_p1_hello.wasm"

  defp math_server!(extra \\ %{}), do: start_wasmex!(Map.merge(%{bytes: @math_wat}, extra))

  defp assert_alive_and_working(pid) do
    assert Process.alive?(pid)
    assert {:ok, [7]} = Wasmex.call_function(pid, :sum, [3, 4])
  end

  describe "start_link/1" do
    test "starts from WAT text given as :bytes" do
      pid = math_server!()
      assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])
    end

    test "starts from binary wasm given as :bytes" do
      assert {:ok, wasm} = Wasmex.Wat.to_wasm(@math_wat)
      assert <<0, "asm", _::binary>> = wasm
      pid = start_wasmex!(%{bytes: wasm})
      assert {:ok, [42]} = Wasmex.call_function(pid, :sum, [40, 2])
    end

    test "starts from a :module compiled with the given :store" do
      {:ok, store} = Store.new()
      {:ok, module} = Module.compile(store, @math_wat)
      pid = start_wasmex!(%{module: module, store: store})

      assert {:ok, [5]} = Wasmex.call_function(pid, "sum", [2, 3])
      assert {:ok, ^store} = Wasmex.store(pid)
      assert {:ok, ^module} = Wasmex.module(pid)
    end

    test "a :module without its :store is refused" do
      {:ok, store} = Store.new()
      {:ok, module} = Module.compile(store, @math_wat)

      assert {:error, :must_specify_store_used_to_compile_module} =
               Wasmex.start_link(%{module: module})
    end

    test "starts from an :instance with its :store and :module, keeping the instance's state" do
      {:ok, store} = Store.new()
      {:ok, module} = Module.compile(store, @math_wat)
      {:ok, instance} = Instance.new(store, module, %{})
      assert :ok = Instance.set_global_value(store, instance, "counter", 41)

      pid = start_wasmex!(%{instance: instance, store: store, module: module})

      # the server uses this very instance: the global set above is visible to the guest
      assert {:ok, [42]} = Wasmex.call_function(pid, :incr, [])
      assert {:ok, ^instance} = Wasmex.instance(pid)
      assert {:ok, ^store} = Wasmex.store(pid)
      assert {:ok, ^module} = Wasmex.module(pid)
      assert {:ok, 42} = Instance.get_global_value(store, instance, "counter")
    end

    test "an :instance without its :store and :module is refused" do
      {:ok, store} = Store.new()
      {:ok, module} = Module.compile(store, @math_wat)
      {:ok, instance} = Instance.new(store, module, %{})

      for opts <- [
            %{instance: instance},
            %{instance: instance, store: store},
            %{instance: instance, module: module}
          ] do
        assert {:error, :must_specify_store_and_module_used_to_instantiate_instance} =
                 Wasmex.start_link(opts),
               "expected #{inspect(Map.keys(opts))} to be refused"
      end
    end

    test "bad bytes return {:error, reason} without raising or killing the caller" do
      for bytes <- [
            "this is not wasm",
            <<0, "asm", 1, 0, 0, 0, 0xFF, 0xFF, 0xFF>>,
            <<0, "asm", 9, 9, 9, 9>>,
            ""
          ] do
        {result, caller_alive?} = in_bystander(fn -> Wasmex.start_link(%{bytes: bytes}) end)

        assert {:error, reason} = result
        assert is_binary(reason) and reason != ""
        assert caller_alive?, "the caller of start_link was killed for #{inspect(bytes)}"
      end
    end

    test "bad WAT reports the parser's message" do
      assert {:error, "Error while parsing bytes: " <> _} = Wasmex.start_link(%{bytes: "(module"})
    end

    test "a failing instantiation returns the wasmtime error and the caller survives" do
      {result, caller_alive?} =
        in_bystander(fn -> Wasmex.start_link(%{bytes: @unknown_import_wat}) end)

      assert {:error, "unknown import: `env::f` has not been defined"} = result
      assert caller_alive?
    end

    test "a failing instantiation does not send an exit signal to a trapping caller" do
      Process.flag(:trap_exit, true)

      assert {:error, "unknown import: `env::f` has not been defined"} =
               Wasmex.start_link(%{bytes: @unknown_import_wat})

      refute_receive {:EXIT, _, _}, 200
    end

    test "an import with the wrong signature fails instantiation with {:error, _}" do
      imports = %{env: %{f: {:fn, [:i32], [], fn _ctx, _x -> nil end}}}

      assert {:error, "incompatible import type for `env::f`" <> _} =
               Wasmex.start_link(%{bytes: @unknown_import_wat, imports: imports})
    end

    test "wasi: true builds a WASI store and runs a WASI command" do
      bytes = File.read!(fixture_path(@wasi_fixture))
      pid = start_wasmex!(%{bytes: bytes, wasi: true})

      assert Wasmex.function_exists(pid, :_start)
      assert {:ok, []} = Wasmex.call_function(pid, :_start, [])
    end

    test "wasi: %WasiOptions{} wires args, env, stdin, stdout and stderr" do
      bytes = File.read!(fixture_path(@wasi_fixture))
      {:ok, stdin} = Pipe.new()
      {:ok, stdout} = Pipe.new()
      {:ok, stderr} = Pipe.new()
      {:ok, _} = Pipe.write(stdin, "from the test")
      :ok = Pipe.seek(stdin, 0)

      wasi = %WasiOptions{
        args: ["hello", "first"],
        env: %{"GREETING" => "hi"},
        stdin: stdin,
        stdout: stdout,
        stderr: stderr
      }

      pid = start_wasmex!(%{bytes: bytes, wasi: wasi})
      assert {:ok, []} = Wasmex.call_function(pid, "_start", [])

      :ok = Pipe.seek(stdout, 0)

      assert Pipe.read(stdout) ==
               "Hello from WASI!\narg: first\nenv: GREETING=hi\nstdin: from the test\n"

      :ok = Pipe.seek(stderr, 0)
      assert Pipe.read(stderr) == "to stderr\n"
    end

    test "wasi: false (the default) gives a store without WASI" do
      bytes = File.read!(fixture_path(@wasi_fixture))

      assert {:error, "unknown import: `wasi_snapshot_preview1::" <> _} =
               Wasmex.start_link(%{bytes: bytes, wasi: false})

      assert {:error, "unknown import: `wasi_snapshot_preview1::" <> _} =
               Wasmex.start_link(%{bytes: bytes})
    end

    test ":imports accept atom keys" do
      wat = ~S[(module (import "env" "add_one" (func $f (param i32) (result i32)))
                 (func (export "run") (param i32) (result i32) local.get 0 call $f))]

      imports = %{env: %{add_one: {:fn, [:i32], [:i32], fn _ctx, x -> x + 1 end}}}
      pid = start_wasmex!(%{bytes: wat, imports: imports})
      assert {:ok, [11]} = Wasmex.call_function(pid, :run, [10])
    end

    test ":imports accept string keys and mixed keys" do
      wat = ~S[(module (import "env" "add_one" (func $f (param i32) (result i32)))
                 (import "other" "neg" (func $g (param i64) (result i64)))
                 (func (export "run") (param i32) (result i32) local.get 0 call $f)
                 (func (export "neg") (param i64) (result i64) local.get 0 call $g))]

      imports = %{
        "env" => %{"add_one" => {:fn, [:i32], [:i32], fn _ctx, x -> x + 1 end}},
        other: %{"neg" => {:fn, [:i64], [:i64], fn _ctx, x -> -x end}}
      }

      pid = start_wasmex!(%{bytes: wat, imports: imports})
      assert {:ok, [2]} = Wasmex.call_function(pid, :run, [1])
      assert {:ok, [-5_000_000_000]} = Wasmex.call_function(pid, :neg, [5_000_000_000])
    end

    test ":links registers a linked module given as :bytes" do
      utils =
        ~S[(module (func (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))]

      main =
        ~S[(module (import "utils" "double" (func $d (param i32) (result i32)))
                 (func (export "quadruple") (param i32) (result i32) local.get 0 call $d call $d))]

      pid = start_wasmex!(%{bytes: main, links: %{utils: %{bytes: utils}}})
      assert {:ok, [12]} = Wasmex.call_function(pid, :quadruple, [3])
    end

    test ":links registers a linked module given as :module compiled with the same store" do
      {:ok, store} = Store.new()

      {:ok, utils} =
        Module.compile(
          store,
          ~S[(module (func (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add))]
        )

      main = ~S[(module (import "utils" "inc" (func $i (param i32) (result i32)))
                 (func (export "run") (param i32) (result i32) local.get 0 call $i))]

      pid = start_wasmex!(%{bytes: main, store: store, links: %{"utils" => %{module: utils}}})
      assert {:ok, [8]} = Wasmex.call_function(pid, :run, [7])
    end

    test ":links may nest: a linked module importing from its own linked module" do
      base =
        ~S[(module (func (export "base") (param i32) (result i32) local.get 0 i32.const 1 i32.add))]

      middle =
        ~S[(module (import "base" "base" (func $b (param i32) (result i32)))
                   (func (export "mid") (param i32) (result i32) local.get 0 call $b i32.const 2 i32.mul))]

      top =
        ~S[(module (import "middle" "mid" (func $m (param i32) (result i32)))
                (func (export "top") (param i32) (result i32) local.get 0 call $m i32.const 3 i32.add))]

      links = %{middle: %{bytes: middle, links: %{base: %{bytes: base}}}}

      assert {:ok, pid} = Wasmex.start_link(%{bytes: top, links: links})
      # ((4 + 1) * 2) + 3
      assert {:ok, [13]} = Wasmex.call_function(pid, :top, [4])
    end

    test ":links share the Elixir imports with linked modules" do
      lib = ~S[(module (import "env" "host" (func $h (param i32) (result i32)))
                (func (export "via_host") (param i32) (result i32) local.get 0 call $h))]

      main = ~S[(module (import "lib" "via_host" (func $v (param i32) (result i32)))
                 (func (export "run") (param i32) (result i32) local.get 0 call $v))]

      imports = %{env: %{host: {:fn, [:i32], [:i32], fn _ctx, x -> x * 100 end}}}
      pid = start_wasmex!(%{bytes: main, imports: imports, links: %{lib: %{bytes: lib}}})
      assert {:ok, [300]} = Wasmex.call_function(pid, :run, [3])
    end

    test ":name registers the server", %{name: name} do
      pid = math_server!(%{name: name})

      assert Process.whereis(name) == pid
      assert {:ok, [9]} = Wasmex.call_function(name, :sum, [4, 5])
      assert Wasmex.function_exists(name, "sum")
      assert {:ok, %Memory{}} = Wasmex.memory(name)
      assert {:ok, %StoreOrCaller{}} = Wasmex.store(name)
      assert {:ok, %Module{}} = Wasmex.module(name)
      assert {:ok, %Instance{}} = Wasmex.instance(name)
    end

    test "a name already taken gives {:error, {:already_started, pid}}", %{name: name} do
      pid = math_server!(%{name: name})

      assert {:error, {:already_started, ^pid}} =
               Wasmex.start_link(%{bytes: @math_wat, name: name})

      assert_alive_and_working(pid)
    end

    test "the server is linked to the caller" do
      parent = self()

      {bystander, monitor} =
        spawn_monitor(fn ->
          {:ok, pid} = Wasmex.start_link(%{bytes: @math_wat})
          send(parent, {:server, pid})
          Process.sleep(:infinity)
        end)

      assert_receive {:server, pid}, 5_000
      server_monitor = Process.monitor(pid)
      Process.exit(bystander, :kill)
      assert_receive {:DOWN, ^monitor, :process, ^bystander, :killed}, 1_000
      assert_receive {:DOWN, ^server_monitor, :process, ^pid, :killed}, 1_000
    end
  end

  describe "child_spec/1" do
    test "starts the server through start_link/1 with the given map", %{name: name} do
      opts = %{bytes: @math_wat, name: name}
      spec = Supervisor.child_spec({Wasmex, opts}, [])

      assert %{start: {Wasmex, :start_link, [^opts]}} = spec
      assert Map.has_key?(spec, :id)
    end

    test "without a name the child id is Wasmex" do
      assert %{id: Wasmex} = Supervisor.child_spec({Wasmex, %{bytes: @math_wat}}, [])
    end

    test "{Wasmex, %{bytes: ..., name: ...}} runs in a supervision tree and is restarted after a kill",
         %{name: name} do
      sup =
        start_supervised!(%{
          id: :wasmex_sup,
          type: :supervisor,
          start:
            {Supervisor, :start_link,
             [[{Wasmex, %{bytes: @math_wat, name: name}}], [strategy: :one_for_one]]}
        })

      assert [{_, first, :worker, _}] = Supervisor.which_children(sup)
      assert Process.whereis(name) == first
      assert {:ok, [1]} = Wasmex.call_function(name, :incr, [])
      assert {:ok, [2]} = Wasmex.call_function(name, :incr, [])

      second = kill_and_await_restart(name, first, 1_000)

      assert Process.alive?(second)
      # a restarted server has a fresh instance
      assert {:ok, [1]} = Wasmex.call_function(name, :incr, [])
      assert {:ok, [3]} = Wasmex.call_function(name, "sum", [1, 2])
    end
  end

  describe "call_function/4" do
    setup do
      %{pid: math_server!()}
    end

    test "accepts atom and string function names", %{pid: pid} do
      assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])
      assert {:ok, [3]} = Wasmex.call_function(pid, "sum", [1, 2])
    end

    test "void functions return {:ok, []}", %{pid: pid} do
      assert {:ok, []} = Wasmex.call_function(pid, :void, [])
    end

    test "multi-value functions return every result in order", %{pid: pid} do
      assert {:ok, [1, 2, 3.5, 4.25]} = Wasmex.call_function(pid, :multi, [])
      assert {:ok, [2, 1]} = Wasmex.call_function(pid, :swap, [1, 2])
    end

    test "i64, f32 and f64 values cross the boundary", %{pid: pid} do
      assert {:ok, [9_000_000_000]} =
               Wasmex.call_function(pid, :sum64, [4_000_000_000, 5_000_000_000])

      assert {:ok, [result]} = Wasmex.call_function(pid, :fsum, [1.5, 2.25])
      assert result == 3.75
      # integers are accepted for float parameters
      assert {:ok, [result]} = Wasmex.call_function(pid, :fsum, [1, 2])
      assert result == 3.0
    end

    test "the instance keeps its state between calls", %{pid: pid} do
      assert {:ok, [1]} = Wasmex.call_function(pid, :incr, [])
      assert {:ok, [2]} = Wasmex.call_function(pid, :incr, [])
      assert {:ok, [3]} = Wasmex.call_function(pid, :incr, [])
    end

    test "an unreachable trap is an error and the server stays alive", %{pid: pid} do
      assert {:error, reason} = Wasmex.call_function(pid, :unreachable, [])
      assert reason =~ ~r/^Error during function excecution \(/
      assert reason =~ "unreachable"
      assert_alive_and_working(pid)
    end

    test "a division by zero trap is an error and the server stays alive", %{pid: pid} do
      assert {:error, "Error during function excecution (" <> _ = reason} =
               Wasmex.call_function(pid, :div, [1, 0])

      assert reason =~ "integer divide by zero"
      assert_alive_and_working(pid)
      assert {:ok, [3]} = Wasmex.call_function(pid, :div, [7, 2])
    end

    test "an unknown function is an error", %{pid: pid} do
      assert {:error, "exported function `nope` not found"} = Wasmex.call_function(pid, :nope, [])

      assert {:error, "exported function `nope` not found"} =
               Wasmex.call_function(pid, "nope", [1, 2])
    end

    test "a wrong number of parameters is an error", %{pid: pid} do
      assert {:error, "number of params does not match. expected 2, got 1"} =
               Wasmex.call_function(pid, :sum, [1])

      assert {:error, "number of params does not match. expected 0, got 3"} =
               Wasmex.call_function(pid, :void, [1, 2, 3])
    end

    test "parameters of the wrong type are errors", %{pid: pid} do
      assert {:error, "Cannot convert argument #2 to a WebAssembly i32 value."} =
               Wasmex.call_function(pid, :sum, [1, 2.5])

      assert {:error, "Cannot convert argument #1 to a WebAssembly i32 value." <> rest} =
               Wasmex.call_function(pid, :sum, [:one, 2])

      assert rest =~ "Atom"
      assert_alive_and_working(pid)
    end

    test "an infinite loop is stopped at the timeout and the server serves the next call",
         %{pid: pid} do
      {elapsed, result} = timed_ms(fn -> Wasmex.call_function(pid, :spin, [], 100) end)

      assert result == {:error, :timeout}
      assert elapsed < 150, "timeout answered after #{elapsed} ms"
      assert elapsed >= 50, "timeout answered too early (#{elapsed} ms)"

      # the guest was stopped, not left running: the next call answers at once
      {elapsed, result} = timed_ms(fn -> Wasmex.call_function(pid, :sum, [1, 2], 1_000) end)
      assert result == {:ok, [3]}
      assert elapsed < 100, "next call took #{elapsed} ms"
      assert {:ok, [1]} = Wasmex.call_function(pid, :incr, [])
    end

    test "timeouts can be repeated on the same server", %{pid: pid} do
      for _ <- 1..3 do
        assert {:error, :timeout} = Wasmex.call_function(pid, :spin, [], 50)
        assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])
      end
    end

    test ":infinity is accepted as the timeout of a normal call", %{pid: pid} do
      assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2], :infinity)
    end
  end

  describe "function_exists/2" do
    setup do
      %{pid: math_server!()}
    end

    test "is true for an exported function, by atom or string", %{pid: pid} do
      assert Wasmex.function_exists(pid, :sum) == true
      assert Wasmex.function_exists(pid, "sum") == true
    end

    test "is false for a missing function", %{pid: pid} do
      assert Wasmex.function_exists(pid, :nope) == false
      assert Wasmex.function_exists(pid, "nope") == false
    end

    test "is false for an export that is not a function", %{pid: pid} do
      assert Wasmex.function_exists(pid, "memory") == false
      assert Wasmex.function_exists(pid, "counter") == false
    end
  end

  describe "memory/1" do
    test "returns the exported memory, usable with the server's store" do
      pid = math_server!()
      assert {:ok, %Memory{} = memory} = Wasmex.memory(pid)
      assert {:ok, store} = Wasmex.store(pid)

      assert Memory.size(store, memory) == 65_536
      assert Memory.read_binary(store, memory, 0, 5) == "hello"

      assert {:ok, []} = Wasmex.call_function(pid, :store_byte, [10, 0xAB])
      assert Memory.get_byte(store, memory, 10) == 0xAB

      assert :ok = Memory.write_binary(store, memory, 20, <<1, 2, 3>>)
      assert Memory.read_binary(store, memory, 20, 3) == <<1, 2, 3>>
    end

    test "is an error when the module exports no memory" do
      pid = start_wasmex!(%{bytes: ~S[(module (func (export "f")))]})
      assert {:error, "The WebAssembly module has no exported memory."} = Wasmex.memory(pid)
    end

    test "returns the first exported memory whatever its name" do
      pid = start_wasmex!(%{bytes: ~S[(module (memory (export "mem") 2))]})
      assert {:ok, memory} = Wasmex.memory(pid)
      {:ok, store} = Wasmex.store(pid)
      assert Memory.size(store, memory) == 2 * 65_536
    end
  end

  describe "store/1" do
    test "returns the store the server was given" do
      {:ok, store} = Store.new()
      pid = start_wasmex!(%{bytes: @math_wat, store: store})
      assert {:ok, ^store} = Wasmex.store(pid)
    end

    test "returns a usable store when the server built one" do
      pid = math_server!()
      assert {:ok, %StoreOrCaller{} = store} = Wasmex.store(pid)
      {:ok, instance} = Wasmex.instance(pid)
      assert {:ok, 0} = Instance.get_global_value(store, instance, "counter")
      assert {:ok, [1]} = Wasmex.call_function(pid, :incr, [])
      assert {:ok, 1} = Instance.get_global_value(store, instance, "counter")
    end
  end

  describe "module/1" do
    test "returns the compiled module, which instantiates in the server's store" do
      pid = math_server!()
      assert {:ok, %Module{} = module} = Wasmex.module(pid)
      {:ok, store} = Wasmex.store(pid)

      assert {:ok, instance} = Instance.new(store, module, %{})
      assert {:ok, [3]} = Instance.call(store, instance, "sum", [1, 2])
      # a second instance has its own state
      assert {:ok, [1]} = Wasmex.call_function(pid, :incr, [])
      assert {:ok, [1]} = Instance.call(store, instance, "incr", [])
    end

    test "the returned module describes the exports (Module.exports/1 returns a bare map)" do
      pid = math_server!()
      {:ok, module} = Wasmex.module(pid)
      exports = Module.exports(module)

      assert is_map(exports) and not is_tuple(exports)
      assert {:fn, [:i32, :i32], [:i32]} = exports["sum"]
      assert {:fn, [], [:i32, :i64, :f32, :f64]} = exports["multi"]
    end

    test "returns the module the server was given" do
      {:ok, store} = Store.new()
      {:ok, module} = Module.compile(store, @math_wat)
      pid = start_wasmex!(%{module: module, store: store})
      assert {:ok, ^module} = Wasmex.module(pid)
    end
  end

  describe "instance/1" do
    test "returns the server's instance, usable with its store" do
      pid = math_server!()
      assert {:ok, %Instance{} = instance} = Wasmex.instance(pid)
      {:ok, store} = Wasmex.store(pid)

      assert Instance.function_export_exists(store, instance, "sum")
      refute Instance.function_export_exists(store, instance, "nope")
      assert {:ok, [3]} = Instance.call(store, instance, "sum", [1, 2])
    end
  end
end
