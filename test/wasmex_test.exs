defmodule WasmexTest do
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, Memory, Module, Pipe, Store, StoreOrCaller}
  alias Wasmex.Wasi.WasiOptions

  @moduletag timeout: 60_000
  @moduletag :capture_log

  @math_wat ~S"""
  (module
    (global $counter (export "counter") (mut i32) (i32.const 0))
    (memory (export "memory") 1)
    (data (i32.const 0) "hello")
    (func (export "sum") (param i32 i32) (result i32)
      local.get 0 local.get 1 i32.add)
    (func (export "sum64") (param i64 i64) (result i64)
      local.get 0 local.get 1 i64.add)
    (func (export "fsum") (param f32 f64) (result f64)
      local.get 0 f64.promote_f32 local.get 1 f64.add)
    (func (export "void"))
    (func (export "multi") (result i32 i64 f32 f64)
      i32.const 1 i64.const 2 f32.const 3.5 f64.const 4.25)
    (func (export "swap") (param i32 i32) (result i32 i32)
      local.get 1 local.get 0)
    (func (export "unreachable") unreachable)
    (func (export "div") (param i32 i32) (result i32)
      local.get 0 local.get 1 i32.div_s)
    (func (export "spin") (loop $l br $l))
    (func (export "incr") (result i32)
      global.get $counter i32.const 1 i32.add global.set $counter global.get $counter)
    (func (export "store_byte") (param i32 i32)
      local.get 0 local.get 1 i32.store8)
  )
  """

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

      ref = Process.monitor(first)
      Process.exit(first, :kill)
      assert_receive {:DOWN, ^ref, :process, ^first, :killed}, 1_000

      second =
        wait_until(fn ->
          case Process.whereis(name) do
            pid when is_pid(pid) and pid != first -> pid
            _ -> nil
          end
        end)

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

  describe "call_function/4 with imports (callbacks)" do
    @callback_wat ~S"""
    (module
      (import "env" "cb" (func $cb (param i32 i32) (result i32)))
      (import "env" "multi" (func $multi (param i32) (result i32 i64 f64)))
      (import "env" "touch" (func $touch (param i32 i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "hello")
      (func (export "call_cb") (param i32 i32) (result i32)
        local.get 0 local.get 1 call $cb)
      (func (export "call_multi") (param i32) (result i32 i64 f64)
        local.get 0 call $multi)
      (func (export "call_touch") (result i32)
        i32.const 0 i32.const 5 call $touch
        i32.const 100 i32.load8_u)
      (func (export "times_ten") (param i32) (result i32)
        local.get 0 i32.const 10 i32.mul)
      (func (export "sum") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add)
    )
    """

    defp callback_server!(cb, extra \\ %{}) do
      imports = %{
        env: %{
          cb: {:fn, [:i32, :i32], [:i32], cb},
          multi:
            Map.get(extra, :multi, {:fn, [:i32], [:i32, :i64, :f64], fn _ctx, x -> [x, x, x] end}),
          touch: Map.get(extra, :touch, {:fn, [:i32, :i32], [], fn _ctx, _p, _l -> nil end})
        }
      }

      start_wasmex!(%{bytes: @callback_wat, imports: imports})
    end

    test "the callback gets the context map and the wasm arguments" do
      test = self()

      pid =
        callback_server!(fn ctx, a, b ->
          send(test, {:called, ctx, a, b})
          a - b
        end)

      assert {:ok, [7]} = Wasmex.call_function(pid, :call_cb, [10, 3])
      assert_receive {:called, ctx, 10, 3}, 1_000

      assert ctx |> Map.keys() |> Enum.sort() == [:caller, :instance, :memory, :pid]
      assert ctx.pid == pid
      assert {:ok, instance} = Wasmex.instance(pid)
      assert ctx.instance == instance
      assert %Memory{} = ctx.memory
      assert %StoreOrCaller{} = ctx.caller
    end

    test "the caller is only valid while the callback runs" do
      test = self()

      pid =
        callback_server!(fn ctx, a, _b ->
          send(test, {:ctx, ctx})
          a
        end)

      assert {:ok, [1]} = Wasmex.call_function(pid, :call_cb, [1, 2])
      assert_receive {:ctx, ctx}, 1_000

      assert {:error, "Caller is no longer valid"} =
               Memory.read_binary(ctx.caller, ctx.memory, 0, 1)
    end

    test "the callback reads and writes memory through the caller" do
      test = self()

      touch =
        {:fn, [:i32, :i32], [],
         fn ctx, ptr, len ->
           send(test, {:read, Memory.read_binary(ctx.caller, ctx.memory, ptr, len)})
           send(test, {:size, Memory.size(ctx.caller, ctx.memory)})
           :ok = Memory.write_binary(ctx.caller, ctx.memory, 100, <<42>>)
           :ok = Memory.set_byte(ctx.caller, ctx.memory, 101, 43)
           :this_value_is_ignored
         end}

      pid = callback_server!(fn _ctx, a, _b -> a end, %{touch: touch})

      assert {:ok, [42]} = Wasmex.call_function(pid, :call_touch, [])
      assert_receive {:read, "hello"}, 1_000
      assert_receive {:size, 65_536}, 1_000

      {:ok, store} = Wasmex.store(pid)
      {:ok, memory} = Wasmex.memory(pid)
      assert Memory.read_binary(store, memory, 100, 2) == <<42, 43>>
    end

    test "ctx.memory has no resource when no export is named \"memory\"" do
      test = self()

      wat = ~S[(module (import "env" "cb" (func $cb (param i32) (result i32)))
                (memory (export "mem") 1)
                (func (export "f") (param i32) (result i32) local.get 0 call $cb))]

      cb = fn ctx, x ->
        send(test, {:memory, ctx.memory, Memory.size(ctx.caller, ctx.memory)})
        x
      end

      pid = start_wasmex!(%{bytes: wat, imports: %{env: %{cb: {:fn, [:i32], [:i32], cb}}}})
      assert {:ok, [5]} = Wasmex.call_function(pid, :f, [5])
      assert_receive {:memory, %Memory{resource: nil}, size}, 1_000
      assert {:error, "The WebAssembly module has no exported memory."} = size
    end

    test "several results are returned from the callback as a list" do
      multi =
        {:fn, [:i32], [:i32, :i64, :f64], fn _ctx, x -> [x + 1, x * 1_000_000_000, x / 2] end}

      pid = callback_server!(fn _ctx, a, _b -> a end, %{multi: multi})

      assert {:ok, [6, 5_000_000_000, 2.5]} = Wasmex.call_function(pid, :call_multi, [5])
    end

    test "a raising callback is an error and the server stays alive" do
      pid = callback_server!(fn _ctx, _a, _b -> raise "boom" end)
      assert_callback_failure(pid)
    end

    test "a throwing callback is an error and the server stays alive" do
      pid = callback_server!(fn _ctx, _a, _b -> throw(:ball) end)
      assert_callback_failure(pid)
    end

    test "an exiting callback is an error and the server stays alive" do
      pid = callback_server!(fn _ctx, _a, _b -> exit(:bye) end)
      assert_callback_failure(pid)
    end

    test "a callback returning a value of the wrong type is an error" do
      pid = callback_server!(fn _ctx, _a, _b -> "not a number" end)
      assert_callback_failure(pid)
    end

    test "a callback returning the wrong number of results is an error" do
      multi = {:fn, [:i32], [:i32, :i64, :f64], fn _ctx, x -> x end}
      pid = callback_server!(fn _ctx, a, _b -> a end, %{multi: multi})

      assert {:error, reason} = Wasmex.call_function(pid, :call_multi, [1])
      assert reason =~ "the elixir callback threw an exception"
      assert {:ok, [30]} = Wasmex.call_function(pid, :times_ten, [3])
    end

    test "a callback can call back into the same instance through the caller" do
      test = self()

      pid =
        callback_server!(fn ctx, a, b ->
          ref = make_ref()

          :ok =
            Instance.call_exported_function(
              ctx.caller,
              ctx.instance,
              "times_ten",
              [a],
              {self(), ref}
            )

          # the reply is delivered before call_exported_function returns
          reply =
            receive do
              {^ref, reply} -> reply
            after
              0 -> :not_delivered_yet
            end

          send(test, {:nested, reply})
          {:ok, [r]} = reply
          r + b
        end)

      assert {:ok, [42]} = Wasmex.call_function(pid, :call_cb, [4, 2])
      assert_receive {:nested, {:ok, [40]}}, 1_000
    end

    test "a nested call that traps is reported to the callback" do
      test = self()

      wat = ~S[(module (import "env" "cb" (func $cb (result i32)))
                (func (export "boom") (result i32) unreachable)
                (func (export "run") (result i32) call $cb))]

      cb = fn ctx ->
        ref = make_ref()
        :ok = Instance.call_exported_function(ctx.caller, ctx.instance, "boom", [], {self(), ref})

        receive do
          {^ref, reply} -> send(test, {:nested, reply})
        after
          1_000 -> send(test, {:nested, :no_reply})
        end

        7
      end

      pid = start_wasmex!(%{bytes: wat, imports: %{env: %{cb: {:fn, [], [:i32], cb}}}})
      assert {:ok, [7]} = Wasmex.call_function(pid, :run, [])
      assert_receive {:nested, {:error, "Error during function excecution (" <> _}}, 1_000
    end

    test "a callback can call another Wasmex server" do
      other = math_server!()

      pid =
        callback_server!(fn _ctx, a, b ->
          {:ok, [sum]} = Wasmex.call_function(other, :sum, [a, b])
          sum * 2
        end)

      assert {:ok, [14]} = Wasmex.call_function(pid, :call_cb, [3, 4])
      assert {:ok, [1]} = Wasmex.call_function(other, :incr, [])
    end

    test "memory/1 and function_exists/2 answer while the server is blocked in a callback" do
      test = self()

      pid =
        callback_server!(fn _ctx, a, _b ->
          send(test, {:blocked, self()})

          receive do
            {:release, value} -> value + a
          after
            5_000 -> -1
          end
        end)

      call = Task.async(fn -> Wasmex.call_function(pid, :call_cb, [1, 0]) end)
      assert_receive {:blocked, ^pid}, 2_000

      assert {:ok, %Memory{} = memory} = within(1_000, fn -> Wasmex.memory(pid) end)
      assert within(1_000, fn -> Wasmex.function_exists(pid, "times_ten") end) == true
      assert within(1_000, fn -> Wasmex.function_exists(pid, :nope) end) == false
      assert {:ok, %StoreOrCaller{} = store} = within(1_000, fn -> Wasmex.store(pid) end)
      assert {:ok, %Instance{}} = within(1_000, fn -> Wasmex.instance(pid) end)

      send(pid, {:release, 99})
      assert {:ok, [100]} = Task.await(call, 5_000)
      assert Memory.read_binary(store, memory, 0, 5) == "hello"
    end

    test "a WASI store's imports can override wasi_snapshot_preview1 random_get" do
      wat = ~S[(module
        (import "wasi_snapshot_preview1" "random_get" (func $rg (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "rand") (result i32 i32)
          i32.const 16 i32.const 4 call $rg
          i32.const 16 i32.load))]

      test = self()

      random_get =
        {:fn, [:i32, :i32], [:i32],
         fn ctx, ptr, len ->
           send(test, {:random_get, ptr, len})
           :ok = Memory.write_binary(ctx.caller, ctx.memory, ptr, :binary.copy(<<7>>, len))
           0
         end}

      imports = %{wasi_snapshot_preview1: %{random_get: random_get}}
      pid = start_wasmex!(%{bytes: wat, wasi: true, imports: imports})

      assert {:ok, [0, 0x07070707]} = Wasmex.call_function(pid, :rand, [])
      assert_receive {:random_get, 16, 4}, 1_000

      # with an explicit WASI store too
      {:ok, store} = Store.new_wasi(%WasiOptions{})
      pid = start_wasmex!(%{bytes: wat, store: store, imports: imports})
      assert {:ok, [0, 0x07070707]} = Wasmex.call_function(pid, :rand, [])
      assert_receive {:random_get, 16, 4}, 1_000
    end

    test "a WASI program's random_get can be overridden while it still prints" do
      bytes = File.read!(fixture_path(@wasi_fixture))
      {:ok, stdout} = Pipe.new()

      imports = %{
        "wasi_snapshot_preview1" => %{
          "random_get" =>
            {:fn, [:i32, :i32], [:i32],
             fn ctx, ptr, len ->
               :ok = Memory.write_binary(ctx.caller, ctx.memory, ptr, :binary.copy(<<0>>, len))
               0
             end}
        }
      }

      pid = start_wasmex!(%{bytes: bytes, wasi: %WasiOptions{stdout: stdout}, imports: imports})
      assert {:ok, []} = Wasmex.call_function(pid, :_start, [])
      :ok = Pipe.seek(stdout, 0)
      assert Pipe.read(stdout) =~ "Hello from WASI!\n"
    end
  end

  defp assert_callback_failure(pid) do
    assert {:error, reason} = Wasmex.call_function(pid, :call_cb, [1, 2])
    assert is_binary(reason)
    assert reason =~ "the elixir callback threw an exception"
    assert Process.alive?(pid)
    assert {:ok, [30]} = Wasmex.call_function(pid, :times_ten, [3])
    assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])
  end
end
