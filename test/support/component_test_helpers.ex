defmodule Wasmex.ComponentTestHelpers do
  @moduledoc false
  # Shared helpers for the component tests (test/wasmex/components_test.exs and
  # test/wasmex/components/*_test.exs).

  import ExUnit.Assertions

  @doc "The path of a committed component fixture (`test/fixtures/components/<name>.wasm`)."
  def component_path(name), do: Wasmex.TestHelpers.fixture_path("components/#{name}.wasm")

  @doc "The bytes of a committed component fixture."
  def component_bytes(name), do: File.read!(component_path(name))

  @doc "Starts a `Wasmex.Components` server (linked to the test) for a fixture and returns its pid."
  def start_component!(name, opts \\ []) do
    assert {:ok, pid} = Wasmex.Components.start_link([bytes: component_bytes(name)] ++ opts)
    assert is_pid(pid)
    pid
  end

  @doc """
  Imports satisfying every import of `component_imports.wasm` (besides WASI), with `overrides`
  merged over them (two levels deep).
  """
  def importer_imports(overrides \\ %{}) do
    base = %{
      "host-add" => {:fn, fn a, b -> a + b end},
      "host-fail" => {:fn, fn -> {:error, "host failure"} end},
      "wasmex:test/host@0.1.0" => %{"greet" => {:fn, fn name -> "Hello, #{name}!" end}}
    }

    Map.merge(base, overrides, fn
      _key, %{} = left, %{} = right -> Map.merge(left, right)
      _key, _left, right -> right
    end)
  end

  @doc """
  `importer_imports/0` with `host-add` computed by `fun`; each call also sends
  `{:host_add, pid, a, b}` to the calling test, `pid` being the process the callback ran in.
  """
  def reporting_host_add(fun) do
    test = self()

    importer_imports(%{
      "host-add" =>
        {:fn,
         fn a, b ->
           send(test, {:host_add, self(), a, b})
           fun.(a, b)
         end}
    })
  end

  @doc """
  Starts a minimal HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that answers every request
  with `status` and `body` and reports each request it reads to the test process as
  `{:http_request, raw_request}`. Returns the port. The server stops with the test.
  """
  def start_http_server!(status \\ 200, body \\ "hello from the test server") do
    test = self()

    {:ok, listen} =
      :gen_tcp.listen(0, [:binary, ip: {127, 0, 0, 1}, active: false, reuseaddr: true])

    {:ok, port} = :inet.port(listen)

    server =
      spawn(fn ->
        receive do
          :go -> serve(listen, test, status, body)
        end
      end)

    :ok = :gen_tcp.controlling_process(listen, server)
    send(server, :go)

    ExUnit.Callbacks.on_exit(fn ->
      Process.exit(server, :kill)
      :gen_tcp.close(listen)
    end)

    port
  end

  defp serve(listen, test, status, body) do
    case :gen_tcp.accept(listen, 10_000) do
      {:ok, socket} ->
        request = read_request(socket, "")
        send(test, {:http_request, request})

        :gen_tcp.send(socket, [
          "HTTP/1.1 #{status} #{reason(status)}\r\n",
          "content-type: text/plain\r\n",
          "content-length: #{byte_size(body)}\r\n",
          "connection: close\r\n\r\n",
          body
        ])

        :gen_tcp.close(socket)
        serve(listen, test, status, body)

      {:error, _} ->
        :ok
    end
  end

  # Reads until the end of the request head (a GET has no body).
  defp read_request(socket, acc) do
    if String.contains?(acc, "\r\n\r\n") do
      acc
    else
      case :gen_tcp.recv(socket, 0, 5_000) do
        {:ok, data} -> read_request(socket, acc <> data)
        {:error, _} -> acc
      end
    end
  end

  defp reason(200), do: "OK"
  defp reason(404), do: "Not Found"
  defp reason(500), do: "Internal Server Error"
  defp reason(_), do: "Status"

  @doc "A TCP port on 127.0.0.1 with nothing listening on it."
  def closed_port! do
    {:ok, listen} = :gen_tcp.listen(0, [:binary, ip: {127, 0, 0, 1}, active: false])
    {:ok, port} = :inet.port(listen)
    :ok = :gen_tcp.close(listen)
    port
  end
end
