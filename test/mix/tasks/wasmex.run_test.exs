defmodule Mix.Tasks.Wasmex.RunTest do
  # Captures the shared stderr, so not async.
  use ExUnit.Case, async: false

  import ExUnit.CaptureIO

  @p1 "test/fixtures/json_command.wasm"
  @p2 "test/fixtures/components/json_command.wasm"

  @math ~S"""
  (module
    (global $base (mut i32) (i32.const 0))
    (func (export "_initialize") (global.set $base (i32.const 100)))
    (func (export "add") (param i32 i64) (result i64)
      (i64.add (i64.extend_i32_s (i32.add (local.get 0) (global.get $base))) (local.get 1)))
    (func (export "half") (param f64) (result f64 i32)
      (f64.div (local.get 0) (f64.const 2)) (i32.const 7)))
  """

  @cat "test/fixtures/cat_command.wat"

  setup do
    dir = Path.join(System.tmp_dir!(), "wasmex_run_task_#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    # The task turns the compiled-code cache on unless configured: keep it in the test's folder.
    Application.put_env(:wasmex, :cache_dir, Path.join(dir, "cache"))

    on_exit(fn ->
      Application.delete_env(:wasmex, :cache_dir)
      File.rm_rf!(dir)
    end)

    %{dir: dir}
  end

  defp run(args, stdin \\ "") do
    capture_io([input: stdin, capture_prompt: false], fn -> Mix.Tasks.Wasmex.Run.run(args) end)
  end

  describe "running a command" do
    for {kind, file} <- [core: @p1, component: @p2] do
      @wasm_file file

      test "#{kind}: stdin in, stdout out, ARGS after FILE belong to the guest" do
        assert run([@wasm_file, "--not-ours", "x"], ~s({"id": 1})) ==
                 ~s({"ok":true,"bytes":9,"args":["--not-ours","x"],"request":{"id": 1}})
      end

      test "#{kind}: the task exits with the guest's exit code and passes its stderr" do
        stderr =
          capture_io(:stderr, fn ->
            assert {:shutdown, code} = catch_exit(run([@wasm_file], "not json"))
            assert code == if(unquote(kind) == :core, do: 2, else: 1)
          end)

        assert stderr == "bad request: 8 bytes\n"
      end

      test "#{kind}: --env and --dir", %{dir: dir} do
        File.write!(Path.join(dir, "f.txt"), "contents")
        assert run(["--env", "K=v=1", @wasm_file, "env", "K"]) == ~s("v=1")
        assert run(["--dir", "#{dir}::/data", @wasm_file, "cat", "/data/f.txt"]) == "contents"
      end

      test "#{kind}: --timeout and --fuel stop a spinning guest" do
        assert_raise Mix.Error, ~r/--timeout/, fn ->
          run(["--timeout", "50", @wasm_file, "spin"])
        end

        assert_raise Mix.Error, ~r/--fuel/, fn -> run(["--fuel", "10000", @wasm_file, "spin"]) end
      end

      test "#{kind}: --compiler winch runs it; --timeout and --fuel still stop it" do
        assert run(["--compiler", "winch", @wasm_file], ~s({"id": 2})) ==
                 ~s({"ok":true,"bytes":9,"args":[],"request":{"id": 2}})

        assert_raise Mix.Error, ~r/--timeout/, fn ->
          run(["--compiler", "winch", "--timeout", "50", @wasm_file, "spin"])
        end

        assert_raise Mix.Error, ~r/--fuel/, fn ->
          run(["--compiler", "winch", "--fuel", "10000", @wasm_file, "spin"])
        end
      end

      test "#{kind}: a trap is an error" do
        assert_raise Mix.Error, ~r/trap: .*unreachable/s, fn -> run([@wasm_file, "trap"]) end
      end
    end

    test "bytes pass through unchanged", %{dir: dir} do
      bytes = for(i <- 0..255, into: "", do: <<i>>) |> String.duplicate(4)
      File.write!(Path.join(dir, "bin"), bytes)
      assert run(["--dir", dir, @p1, "cat", Path.join(dir, "bin")]) == bytes
    end

    test "stdin bytes reach the guest unchanged" do
      bytes = for(i <- 0..255, into: "", do: <<i>>)
      assert run([@cat], bytes) == bytes
    end

    test "a .wat command", %{dir: dir} do
      wat = Path.join(dir, "exit.wat")

      File.write!(wat, ~S"""
      (module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start") (call $exit (i32.const 9))))
      """)

      assert {:shutdown, 9} = catch_exit(run([wat]))
    end

    # One real `mix` process: the exit code reaches the shell and stdout carries only the guest's.
    test "the OS process exits with the guest's exit code" do
      script = "printf '{}' | mix wasmex.run #{@p1} exit 3"
      env = [{"MIX_ENV", "test"}, {"WASMEX_SKIP_NATIVE", "1"}]

      assert {stdout, 3} = System.cmd("sh", ["-c", script], env: env, stderr_to_stdout: true)
      assert stdout == ~s({"ok":true,"bytes":2,"args":["exit","3"],"request":{}})
    end

    test "usage and unreadable files" do
      assert_raise Mix.Error, ~r/usage: mix wasmex.run/, fn -> run([]) end
      assert_raise Mix.Error, ~r/cannot read nope.wasm/, fn -> run(["nope.wasm"]) end
      assert_raise OptionParser.ParseError, fn -> run(["--bogus", @p1]) end
    end
  end

  describe "--invoke" do
    test "a core export: arguments read by parameter types, results one a line", %{dir: dir} do
      wat = Path.join(dir, "math.wat")
      File.write!(wat, @math)
      # `_initialize` ran first: the base is 100.
      assert run(["--invoke", "add", wat, "1", "-5000000000"]) == "-4999999899\n"
      assert run(["--invoke", "half", wat, "3"]) == "1.5\n7\n"
    end

    test "bad core arguments and unknown exports", %{dir: dir} do
      wat = Path.join(dir, "math.wat")
      File.write!(wat, @math)

      assert_raise Mix.Error, ~r/cannot read "x" as i32/, fn ->
        run(["--invoke", "add", wat, "x", "1"])
      end

      assert_raise Mix.Error, ~r/takes 2 arguments, got 1/, fn ->
        run(["--invoke", "add", wat, "1"])
      end

      assert_raise Mix.Error, ~r/does not export a function `nope`/, fn ->
        run(["--invoke", "nope", wat])
      end
    end

    test "a component export" do
      types = "test/fixtures/components/component_types.wasm"
      assert run(["--invoke", "add", types, "1", "2"]) == "3\n"
      assert run(["--invoke", "echo-string", types, ~s("42")]) == ~s("42"\n)
      assert run(["--invoke", "echo-bool", types, "true"]) == "true\n"
      assert run(["--invoke", "wasmex:test/math@0.1.0#add", types, "2", "3"]) == "5\n"

      assert_raise Mix.Error, ~r/call: exported function `nope` not found/, fn ->
        run(["--invoke", "nope", types])
      end

      assert_raise Mix.Error, ~r/call: number of params does not match/, fn ->
        run(["--invoke", "add", types, "1"])
      end

      assert_raise Mix.Error, ~r/trap: .*unreachable/s, fn -> run(["--invoke", "trap", types]) end
    end
  end
end
