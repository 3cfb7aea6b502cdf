defmodule Wasmex.Features.GuestOutputTest do
  # What a guest writes to stderr reaches the caller when its call fails, and with
  # `log_output: true` its stdout and stderr lines go to Logger (issue 8 item 5).
  use Wasmex.ComponentCase, async: false

  import ExUnit.CaptureLog

  alias Wasmex.Wasi.{WasiOptions, WasiP2Options}

  import Wasmex.WatFixtures, only: [fd_write: 1, fd_write: 3]

  defp start_core!(text, wasi \\ %WasiOptions{}) do
    {:ok, pid} = Wasmex.start_link(%{bytes: fd_write(text), wasi: wasi})
    pid
  end

  describe "core modules (WASI P1)" do
    test "a trap carries what the guest wrote to stderr during the call, after the trap text" do
      pid = start_core!("it broke: no input\n")

      assert {:error,
              "Error during function excecution (wasm trap: wasm `unreachable` instruction executed): " <>
                _ = message} = Wasmex.call_function(pid, "fail", [])

      assert String.ends_with?(
               message,
               "\ncalled export: `fail`\nguest stderr:\nit broke: no input"
             )
    end

    test "a trap names the export called, and the backtrace the functions of the name section" do
      wat = "(module (func $inner unreachable) (func (export \"fail\") call $inner))"
      {:ok, pid} = Wasmex.start_link(%{bytes: wat})
      assert {:error, message} = Wasmex.call_function(pid, "fail", [])
      assert message =~ "!inner\n"
      assert String.ends_with?(message, "\ncalled export: `fail`")
    end

    test "only this call's stderr, and nothing when the guest wrote none" do
      pid = start_core!("earlier\n")
      assert {:ok, []} = Wasmex.call_function(pid, "say", [])
      assert {:error, message} = Wasmex.call_function(pid, "quiet_fail", [])
      refute message =~ "guest stderr"
      refute message =~ "earlier"
    end

    test "stderr given as a pipe is the user's: nothing is appended" do
      {:ok, pipe} = Wasmex.Pipe.new()
      pid = start_core!("to the pipe\n", %WasiOptions{stderr: pipe})
      assert {:error, message} = Wasmex.call_function(pid, "fail", [])
      refute message =~ "guest stderr"
      Wasmex.Pipe.seek(pipe, 0)
      assert Wasmex.Pipe.read(pipe) == "to the pipe\n"
    end

    test "the tail is bounded to the last 4 KiB" do
      # Two writes in one call: 6004 bytes, of which the last 4096 are kept.
      line = String.duplicate("a", 3000) <> "b\n"
      {:ok, pid} = Wasmex.start_link(%{bytes: fd_write(line, 2, 2), wasi: %WasiOptions{}})
      assert {:error, message} = Wasmex.call_function(pid, "fail", [])
      [_, tail] = String.split(message, "\nguest stderr:\n")
      # The last line break is trimmed.
      assert tail == binary_part(line <> line, 6004 - 4096, 4095)
    end

    test "log_output: true sends stdout and stderr lines to Logger with metadata" do
      {:ok, pid} =
        Wasmex.start_link(%{
          bytes: fd_write("first\nsecond\n", 1, 1),
          wasi: %WasiOptions{log_output: true},
          name: LoggingCoreServer
        })

      Logger.metadata([])

      log =
        capture_log([metadata: [:wasm_stream, :wasm_server, :wasm_function]], fn ->
          assert {:ok, []} = Wasmex.call_function(pid, "say", [])
        end)

      assert log =~ ~r/wasm_stream=stdout wasm_server=LoggingCoreServer wasm_function=say.*first/s
      assert log =~ "second"
    end
  end

  describe "components (WASI P2)" do
    test "a failed call carries the guest's stderr" do
      # `run` writes "err: hello" to stderr, then lists the preopened directories, which an
      # import overrides with a function that raises.
      raising = %{"get-directories" => {:fn, fn -> raise "no directories" end}}

      imports = %{
        "wasi:filesystem/preopens@0.2.0" => raising,
        "wasi:filesystem/preopens@0.2.6" => raising
      }

      pid =
        start_component!("component_wasi",
          imports: imports,
          wasi: %WasiP2Options{inherit_stderr: false, inherit_stdout: false}
        )

      capture_log(fn ->
        assert {:error, message} = Wasmex.Components.call_function(pid, "run", [])
        assert String.ends_with?(message, "\nguest stderr:\nerr: hello")
      end)
    end

    test "a trap names the export that was called" do
      wat = """
      (component
        (core module $m (func (export "boom") unreachable))
        (core instance $i (instantiate $m))
        (func (export "boom") (canon lift (core func $i "boom"))))
      """

      {:ok, pid} = Wasmex.Components.start_link(bytes: wat)

      assert {:error, "Error executing function (wasm trap: " <> _ = message} =
               Wasmex.Components.call_function(pid, "boom", [])

      assert String.ends_with?(message, "\ncalled export: `boom`")
    end

    test "log_output: true logs the lines instead of printing them" do
      pid = start_component!("component_wasi", wasi: %WasiP2Options{log_output: true})

      log =
        capture_log([metadata: [:wasm_stream, :wasm_function]], fn ->
          assert {:ok, "args=" <> _} = Wasmex.Components.call_function(pid, "run", [])
        end)

      assert log =~ ~r/wasm_stream=stdout wasm_function=run.*out: hello/
      assert log =~ ~r/wasm_stream=stderr wasm_function=run.*err: hello/
    end
  end
end
