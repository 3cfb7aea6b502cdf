defmodule Wasmex.CommandTest do
  use ExUnit.Case, async: true

  alias Wasmex.Command
  alias Wasmex.Command.Result
  alias Wasmex.Components.Component
  alias Wasmex.Module

  doctest Wasmex.Command
  doctest Wasmex.Command.Result

  @p1 File.read!("test/fixtures/json_command.wasm")
  @p2 File.read!("test/fixtures/components/json_command.wasm")

  # Copies stdin to stdout.
  @cat File.read!("test/fixtures/cat_command.wat")

  # Exits with 3 after writing "bye" to stderr.
  @exit3 ~S"""
  (module
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "bye")
    (func (export "_start")
      (i32.store (i32.const 0) (i32.const 16))
      (i32.store (i32.const 4) (i32.const 3))
      (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
      (call $exit (i32.const 3))))
  """

  # Traps when `_start` runs a second time in the same instance.
  @once ~S"""
  (module
    (global $ran (mut i32) (i32.const 0))
    (memory (export "memory") 1)
    (func (export "_start")
      (if (global.get $ran) (then unreachable))
      (global.set $ran (i32.const 1))))
  """

  @spin ~S[(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))]

  describe "the JSON command" do
    for {kind, wasm} <- [core: @p1, component: @p2] do
      @wasm wasm

      test "#{kind}: answers a request with its arguments" do
        assert {:ok, %Result{exit_code: 0, stdout: stdout, stderr: ""}} =
                 Command.run(@wasm, stdin: ~s({"id": 7}), args: ["a b", "\"q\""])

        assert stdout == ~s({"ok":true,"bytes":9,"args":["a b","\\"q\\""],"request":{"id": 7}})
      end

      test "#{kind}: a bad request is an exit code with its stderr, not an error" do
        assert {:ok, %Result{exit_code: code, stdout: stdout, stderr: "bad request: 4 bytes\n"}} =
                 Command.run(@wasm, stdin: "nope")

        assert stdout == ~s({"ok":false,"error":"expected a JSON object"})
        # WASI Preview 2 reports failure as 1 whatever the code.
        assert code == if(unquote(kind) == :core, do: 2, else: 1)
      end

      test "#{kind}: environment variables" do
        assert {:ok, %Result{stdout: ~s("v=1")}} =
                 Command.run(@wasm, args: ["env", "K"], env: [K: "v=1"])

        assert {:ok, %Result{stdout: "null"}} = Command.run(@wasm, args: ["env", "K"])
      end

      test "#{kind}: a trap is {:trap, text}" do
        assert {:error, {:trap, text}} = Command.run(@wasm, args: ["trap"])
        assert text =~ "unreachable"
      end

      test "#{kind}: a spinning guest is stopped at the timeout" do
        {micros, result} = :timer.tc(fn -> Command.run(@wasm, args: ["spin"], timeout: 50) end)
        assert result == {:error, :timeout}
        assert micros < 2_000_000
      end

      test "#{kind}: exhausted fuel is :fuel_exhausted; enough fuel runs" do
        assert {:error, :fuel_exhausted} = Command.run(@wasm, args: ["spin"], fuel: 100_000)
        assert {:ok, %Result{exit_code: 0}} = Command.run(@wasm, stdin: "{}", fuel: 10_000_000)
      end

      test "#{kind}: output past :max_output is an error holding the cut streams" do
        assert {:error, {:max_output, %Result{exit_code: 0, stdout: out, stderr: err}}} =
                 Command.run(@wasm, args: ["big", "1000"], max_output: 100)

        assert out == String.duplicate("x", 100)
        assert err == String.duplicate("y", 100)

        assert {:ok, %Result{stdout: out}} =
                 Command.run(@wasm, args: ["big", "1000"], max_output: 1000)

        assert byte_size(out) == 1000
      end

      test "#{kind}: a preopened directory" do
        dir = Path.join(System.tmp_dir!(), "wasmex_command_#{System.unique_integer([:positive])}")
        File.mkdir_p!(dir)
        on_exit(fn -> File.rm_rf!(dir) end)
        File.write!(Path.join(dir, "in.txt"), <<0, 1, 2, 255>>)

        assert {:ok, %Result{exit_code: 0, stdout: <<0, 1, 2, 255>>}} =
                 Command.run(@wasm, args: ["cat", "/data/in.txt"], preopen: [{dir, "/data"}])

        assert {:ok, %Result{exit_code: code, stderr: "cannot read /data/in.txt" <> _}} =
                 Command.run(@wasm, args: ["cat", "/data/in.txt"])

        assert code != 0
      end

      test "#{kind}: prepared once, run many times" do
        assert {:ok, code} = Command.prepare(@wasm)
        assert {:ok, ^code} = Command.prepare(code)

        for i <- 1..20 do
          assert {:ok, %Result{exit_code: 0, stdout: stdout}} =
                   Command.run(code, stdin: ~s({"i":#{i}}))

          assert stdout =~ ~s("request":{"i":#{i}})
        end
      end

      test "#{kind}: prepared with :fuel, runs on the shared fuel engine" do
        assert {:ok, code} = Command.prepare(@wasm, fuel: 0)
        assert {:ok, %Result{exit_code: 0}} = Command.run(code, stdin: "{}", fuel: 10_000_000)
        assert {:error, :fuel_exhausted} = Command.run(code, args: ["spin"], fuel: 1_000)
      end
    end

    test "prepare/2 gives a module for core bytes and a component for component bytes" do
      assert {:ok, %Module{}} = Command.prepare(@p1)
      assert {:ok, %Component{}} = Command.prepare(@p2)
      assert Command.component?(@p2)
      refute Command.component?(@p1)
    end

    test "exit codes of a core command" do
      assert {:ok, %Result{exit_code: 5, stdout: stdout}} =
               Command.run(@p1, stdin: "{}", args: ["exit", "5"])

      assert stdout =~ ~s("ok":true)
    end
  end

  describe "inline WAT commands" do
    test "bytes go in and out unchanged" do
      bytes = :crypto.strong_rand_bytes(200_000) <> <<0, 255, 0>>

      assert {:ok, %Result{exit_code: 0, stdout: ^bytes, stderr: ""}} =
               Command.run(@cat, stdin: bytes)

      assert {:ok, %Result{stdout: ""}} = Command.run(@cat)
    end

    test "proc_exit(3) is exit code 3 with the output written before it" do
      assert {:ok, %Result{exit_code: 3, stdout: "", stderr: "bye"}} = Command.run(@exit3)
    end

    test "every run gets a fresh instance" do
      assert {:ok, module} = Command.prepare(@once)
      assert {:ok, %Result{exit_code: 0}} = Command.run(module)
      assert {:ok, %Result{exit_code: 0}} = Command.run(module)
    end

    test "a timeout of 0 stops the run at once" do
      assert {:error, :timeout} = Command.run(@spin, timeout: 0)
    end

    test ":store_limits apply to the run's store" do
      limits = %Wasmex.StoreLimits{memory_size: 65_536}
      assert {:error, {:instantiate, text}} = Command.run(@cat, store_limits: limits)
      assert is_binary(text)
      assert {:ok, %Result{}} = Command.run(@cat, store_limits: %{limits | memory_size: 131_072})
    end

    test "a module without _start and a component without wasi:cli/run are not commands" do
      assert {:error, {:not_a_command, _}} = Command.run("(module)")
      assert {:error, {:not_a_command, _}} = Command.run("(component)")
    end

    test "bytes that do not compile, and a store that cannot be made" do
      assert {:error, {:compile, "Error while parsing bytes: " <> _}} = Command.run("(module")
      assert {:error, {:compile, _}} = Command.run(<<0, "asm", 0x0D, 0, 1, 0, 99>>)

      assert {:error, {:setup, text}} = Command.run(@cat, preopen: ["/no/such/dir/here"])
      assert text =~ "/no/such/dir/here"
    end
  end

  describe "options" do
    test "unknown options and bad values raise ArgumentError naming them" do
      assert_raise ArgumentError, ~r/unknown keys \[:stdni\]/, fn ->
        Command.run(@cat, stdni: "")
      end

      assert_raise ArgumentError, ~r/:stdin option: 42/, fn -> Command.run(@cat, stdin: 42) end
      assert_raise ArgumentError, ~r/:args option: 1/, fn -> Command.run(@cat, args: [1]) end

      assert_raise ArgumentError, ~r/:timeout option: -1/, fn ->
        Command.run(@cat, timeout: -1)
      end

      assert_raise ArgumentError, ~r/:env option/, fn -> Command.run(@cat, env: %{"A" => 1}) end
      assert_raise ArgumentError, ~r/:preopen option/, fn -> Command.run(@cat, preopen: [:x]) end
      assert_raise ArgumentError, ~r/:engine option/, fn -> Command.run(@cat, engine: :x) end
      assert_raise ArgumentError, ~r/wasm must be/, fn -> Command.run(:nope) end
    end

    test ":fuel with an engine that does not meter fuel raises" do
      engine = Wasmex.Engine.default()

      assert_raise ArgumentError, ~r/:fuel option needs an engine with consume_fuel/, fn ->
        Command.run(@cat, fuel: 10, engine: engine)
      end
    end

    test "code prepared for another engine does not instantiate" do
      assert {:ok, module} = Command.prepare(@spin)
      assert {:error, {:instantiate, "cross-`Engine`" <> _}} = Command.run(module, fuel: 100)
    end

    test "a given engine is used, with its fuel" do
      assert {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{consume_fuel: true})
      assert {:ok, module} = Command.prepare(@spin, engine: engine)
      assert {:error, :fuel_exhausted} = Command.run(module, engine: engine, fuel: 500)
    end
  end
end
