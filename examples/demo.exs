# The wasmex demo: `make demo` (or `mix run examples/demo.exs`).
#
# 1. a module called from Elixir
# 2. a guest calling an import written in Elixir
# 3. a WASI program writing to a pipe
# 4. a runaway guest stopped by its timeout

defmodule Demo do
  @wat ~S"""
  (module
    (import "env" "log_square" (func $log_square (param i32) (result i32)))
    (func (export "sum") (param i32 i32) (result i32)
      local.get 0 local.get 1 i32.add)
    (func (export "sum_of_squares") (param i32 i32) (result i32)
      local.get 0 call $log_square
      local.get 1 call $log_square
      i32.add)
    (func (export "spin") (loop br 0)))
  """

  def run do
    imports = %{
      env: %{
        log_square:
          {:fn, [:i32], [:i32],
           fn _context, x ->
             IO.puts("   Elixir import called by the guest with #{x}")
             x * x
           end}
      }
    }

    {:ok, pid} = Wasmex.start_link(%{bytes: @wat, imports: imports})

    step("1. calling a wasm function from Elixir")
    {:ok, [sum]} = Wasmex.call_function(pid, "sum", [40, 2])
    IO.puts("   sum(40, 2) = #{sum}")

    step("2. a guest calling an import written in Elixir")
    {:ok, [squares]} = Wasmex.call_function(pid, "sum_of_squares", [3, 4])
    IO.puts("   sum_of_squares(3, 4) = #{squares}")

    step("3. a WASI program writing to a pipe")
    {:ok, stdin} = Wasmex.Pipe.new()
    {:ok, stdout} = Wasmex.Pipe.new()
    {:ok, _} = Wasmex.Pipe.write(stdin, "greetings from Elixir")
    :ok = Wasmex.Pipe.seek(stdin, 0)

    wasi = %Wasmex.Wasi.WasiOptions{
      args: ["hello", "--demo"],
      env: %{"GREETING" => "hi"},
      stdin: stdin,
      stdout: stdout
    }

    bytes = File.read!(Path.join(__DIR__, "../test/fixtures/wasi_p1_hello.wasm"))
    {:ok, wasi_pid} = Wasmex.start_link(%{bytes: bytes, wasi: wasi})
    {:ok, []} = Wasmex.call_function(wasi_pid, "_start", [])
    :ok = Wasmex.Pipe.seek(stdout, 0)

    stdout
    |> Wasmex.Pipe.read()
    |> String.split("\n", trim: true)
    |> Enum.each(&IO.puts("   | " <> &1))

    step("4. a runaway guest stopped by its timeout")
    started = System.monotonic_time(:millisecond)
    result = Wasmex.call_function(pid, "spin", [], 200)
    elapsed = System.monotonic_time(:millisecond) - started
    IO.puts("   spin() with a 200 ms timeout -> #{inspect(result)} after #{elapsed} ms")
    {:ok, [again]} = Wasmex.call_function(pid, "sum", [1, 1])
    IO.puts("   the same instance still answers: sum(1, 1) = #{again}")
  end

  defp step(title), do: IO.puts(["\n", IO.ANSI.format([:bright, title])])
end

Demo.run()
