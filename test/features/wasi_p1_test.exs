defmodule Wasmex.Features.WasiP1Test do
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, Memory, Module, Pipe, Store}
  alias Wasmex.Wasi.{PreopenOptions, WasiOptions}

  @replacement "\uFFFD"

  # A WASI P1 module written in WAT: raw fd_write of non-UTF-8 bytes, plus random_get and
  # clock_time_get to be overridden from Elixir.
  @wasi_wat ~S"""
  (module
    (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 100) "\00\ff\80")
    (func (export "_start")
      (i32.store (i32.const 0) (i32.const 100))
      (i32.store (i32.const 4) (i32.const 3))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))))
    (func (export "random") (param i32 i32) (result i32)
      (call $random_get (local.get 0) (local.get 1)))
    (func (export "now") (result i64)
      (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 16)))
      (i64.load (i32.const 16))))
  """

  # A command that exits with status 3.
  @exit_wat ~S"""
  (module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start") (call $exit (i32.const 3))))
  """

  setup_all do
    store = store!()
    %{hello: compile!(store, File.read!(fixture_path("wasi_p1_hello.wasm")))}
  end

  defp pipes! do
    for name <- [:stdin, :stdout, :stderr], into: %{} do
      assert {:ok, pipe} = Pipe.new()
      {name, pipe}
    end
  end

  defp feed!(pipe, bytes) do
    assert {:ok, _} = Pipe.write(pipe, bytes)
    assert :ok = Pipe.seek(pipe, 0)
  end

  defp contents(pipe) do
    :ok = Pipe.seek(pipe, 0)
    Pipe.read(pipe)
  end

  # What the hello fixture writes to stdout when run with default options.
  defp default_output!(hello) do
    %{stdout: stdout} = pipes!()
    assert {:ok, []} = run_hello(hello, %WasiOptions{stdout: stdout})
    contents(stdout)
  end

  # Runs the committed fixture's `_start` in a new WASI store.
  defp run_hello(module, options, imports \\ %{}) do
    assert {:ok, store} = Store.new_wasi(options)
    assert {:ok, instance} = Instance.new(store, module, imports)
    call(store, instance, "_start", [])
  end

  describe "new_wasi/3 with the WASI P1 fixture" do
    test "the fixture is a WASI command exporting _start", %{hello: hello} do
      assert %{"_start" => {:fn, [], []}, "memory" => {:memory, _}} = Module.exports(hello)
      assert %{"wasi_snapshot_preview1" => wasi} = Module.imports(hello)
      assert Map.has_key?(wasi, "fd_write")
    end

    test "writes to a stdout pipe", %{hello: hello} do
      %{stdout: stdout} = pipes!()
      assert {:ok, []} = run_hello(hello, %WasiOptions{stdout: stdout})
      assert contents(stdout) == "Hello from WASI!\nstdin: \n"
    end

    test "passes args (the first one is the program name)", %{hello: hello} do
      %{stdout: stdout} = pipes!()
      options = %WasiOptions{args: ["hello.wasm", "one", "zwei drei", "vier"], stdout: stdout}
      assert {:ok, []} = run_hello(hello, options)
      out = contents(stdout)
      assert out =~ "arg: one\narg: zwei drei\narg: vier\n"
      refute out =~ "arg: hello.wasm"
    end

    test "passes the environment", %{hello: hello} do
      %{stdout: stdout} = pipes!()
      env = %{"GREETING" => "hi there", "EMPTY" => "", "UNICODE" => "héllo"}
      assert {:ok, []} = run_hello(hello, %WasiOptions{env: env, stdout: stdout})
      out = contents(stdout)
      assert out =~ "env: GREETING=hi there\n"
      assert out =~ "env: EMPTY=\n"
      assert out =~ "env: UNICODE=héllo\n"
      assert out |> String.split("\n") |> Enum.count(&String.starts_with?(&1, "env: ")) == 3
    end

    test "the guest sees no host environment by default", %{hello: hello} do
      refute default_output!(hello) =~ "env: "
    end

    test "reads a stdin pipe and writes stderr", %{hello: hello} do
      %{stdin: stdin, stdout: stdout, stderr: stderr} = pipes = pipes!()
      feed!(stdin, "from elixir")
      options = struct!(WasiOptions, Map.merge(pipes, %{args: ["p", "a"], env: %{"K" => "V"}}))
      assert {:ok, []} = run_hello(hello, options)

      assert contents(stdout) ==
               "Hello from WASI!\narg: a\nenv: K=V\nstdin: from elixir\n"

      assert contents(stderr) == "to stderr\n"
    end

    test "stdin carries bytes that are not UTF-8", %{hello: hello} do
      %{stdin: stdin, stdout: stdout} = pipes!()
      feed!(stdin, <<0, 255, 128, "ok">>)
      assert {:ok, []} = run_hello(hello, %WasiOptions{stdin: stdin, stdout: stdout})
      # the guest decodes stdin lossily: 0 stays, 255 and 128 become U+FFFD
      assert contents(stdout) =~ "stdin: " <> <<0>> <> @replacement <> @replacement <> "ok\n"
    end

    test "a large stdin is read completely", %{hello: hello} do
      %{stdin: stdin, stdout: stdout} = pipes!()
      input = String.duplicate("0123456789abcdef", 16_384)
      feed!(stdin, input)
      assert {:ok, []} = run_hello(hello, %WasiOptions{stdin: stdin, stdout: stdout})
      assert contents(stdout) =~ "stdin: " <> input <> "\n"
    end

    test "without pipes the program still runs", %{hello: hello} do
      assert {:ok, []} = run_hello(hello, %WasiOptions{args: ["p", "x"]})
    end

    test "a preopened directory is readable and writable under its alias", %{hello: hello} do
      dir = tmp_dir!("wasmex_wasi")
      content = <<"line one\n", 0, 255, 128, "\nend">>
      File.write!(Path.join(dir, "input.txt"), content)
      %{stdout: stdout} = pipes!()

      options = %WasiOptions{
        preopen: [%PreopenOptions{path: dir, alias: "/sandbox"}],
        stdout: stdout
      }

      assert {:ok, []} = run_hello(hello, options)
      assert contents(stdout) =~ "copied\n"
      assert File.read!(Path.join(dir, "output.txt")) == content
    end

    test "without the preopen the guest sees no /sandbox", %{hello: hello} do
      refute default_output!(hello) =~ "copied"
    end

    test "stores do not share stdio", %{hello: hello} do
      %{stdout: out_a} = pipes!()
      %{stdout: out_b} = pipes!()
      assert {:ok, []} = run_hello(hello, %WasiOptions{args: ["p", "A"], stdout: out_a})
      assert {:ok, []} = run_hello(hello, %WasiOptions{args: ["p", "B"], stdout: out_b})
      assert contents(out_a) =~ "arg: A\n"
      refute contents(out_a) =~ "arg: B"
      assert contents(out_b) =~ "arg: B\n"
    end

    test "an Elixir import overrides fd_write", %{hello: hello} do
      test = self()

      fd_write = fn %{memory: memory, caller: caller}, fd, iovs, iovs_len, nwritten_ptr ->
        bytes =
          for i <- 0..(iovs_len - 1)//1, into: "" do
            <<ptr::little-32, len::little-32>> =
              Memory.read_binary(caller, memory, iovs + 8 * i, 8)

            Memory.read_binary(caller, memory, ptr, len)
          end

        send(test, {:fd_write, fd, bytes})
        :ok = Memory.write_binary(caller, memory, nwritten_ptr, <<byte_size(bytes)::little-32>>)
        0
      end

      %{stdout: stdout} = pipes!()

      imports = %{
        "wasi_snapshot_preview1" => %{
          "fd_write" => {:fn, [:i32, :i32, :i32, :i32], [:i32], fd_write}
        }
      }

      assert {:ok, []} = run_hello(hello, %WasiOptions{args: ["p", "q"], stdout: stdout}, imports)
      assert contents(stdout) == ""

      written =
        Stream.repeatedly(fn ->
          receive do
            {:fd_write, fd, bytes} -> {fd, bytes}
          after
            0 -> nil
          end
        end)
        |> Enum.take_while(& &1)

      stdout_text = for {1, bytes} <- written, into: "", do: bytes
      stderr_text = for {2, bytes} <- written, into: "", do: bytes
      assert stdout_text =~ "Hello from WASI!\narg: q\n"
      assert stderr_text == "to stderr\n"
    end
  end

  describe "new_wasi/3 with WASI modules in WAT" do
    test "stdout and stderr pipes receive bytes that are not UTF-8" do
      %{stdout: stdout, stderr: stderr} = pipes!()
      assert {:ok, store} = Store.new_wasi(%WasiOptions{stdout: stdout, stderr: stderr})
      {store, _module, instance} = instantiate!(@wasi_wat, %{}, store: store)
      assert {:ok, []} = call(store, instance, "_start", [])
      assert contents(stdout) == <<0, 255, 128>>
      assert contents(stderr) == <<0, 255, 128>>
      assert Pipe.size(stdout) == 3
    end

    test "the built-in random_get and clock_time_get work" do
      assert {:ok, store} = Store.new_wasi(%WasiOptions{})
      {store, _module, instance} = instantiate!(@wasi_wat, %{}, store: store)
      assert {:ok, [0]} = call(store, instance, "random", [1000, 32])
      assert {:ok, [now]} = call(store, instance, "now", [])
      # realtime clock in nanoseconds: after 2020-01-01
      assert now > 1_577_836_800_000_000_000
    end

    test "an Elixir import overrides random_get" do
      random_get = fn %{memory: memory, caller: caller}, ptr, len ->
        :ok = Memory.write_binary(caller, memory, ptr, :binary.copy(<<7>>, len))
        0
      end

      imports = %{wasi_snapshot_preview1: %{random_get: {:fn, [:i32, :i32], [:i32], random_get}}}
      assert {:ok, store} = Store.new_wasi(%WasiOptions{})
      {store, _module, instance} = instantiate!(@wasi_wat, imports, store: store)
      assert {:ok, [0]} = call(store, instance, "random", [1000, 16])
      memory = memory!(store, instance)
      assert Memory.read_binary(store, memory, 1000, 16) == :binary.copy(<<7>>, 16)
    end

    test "an Elixir import overrides clock_time_get" do
      test = self()

      clock_time_get = fn %{memory: memory, caller: caller}, clock_id, precision, ptr ->
        send(test, {:clock, clock_id, precision})
        :ok = Memory.write_binary(caller, memory, ptr, <<42::little-64>>)
        0
      end

      imports = %{
        "wasi_snapshot_preview1" => %{
          "clock_time_get" => {:fn, [:i32, :i64, :i32], [:i32], clock_time_get}
        }
      }

      assert {:ok, store} = Store.new_wasi(%WasiOptions{})
      {store, _module, instance} = instantiate!(@wasi_wat, imports, store: store)
      assert {:ok, [42]} = call(store, instance, "now", [])
      assert_received {:clock, 0, 1}
    end

    test "proc_exit ends the call with an error naming the exit code" do
      assert {:ok, store} = Store.new_wasi(%WasiOptions{})
      {store, _module, instance} = instantiate!(@exit_wat, %{}, store: store)
      assert {:error, reason} = call(store, instance, "_start", [])
      assert reason =~ "exit status 3"
    end

    test "a plain store does not provide WASI imports" do
      store = store!()
      module = compile!(store, @wasi_wat)

      assert {:error, "unknown import: `wasi_snapshot_preview1::" <> _} =
               Instance.new(store, module, %{})
    end
  end
end
