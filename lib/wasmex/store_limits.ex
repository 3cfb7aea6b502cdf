defmodule Wasmex.StoreLimits do
  @moduledoc ~S"""
  Resource limits of a store. A `nil` field keeps wasmtime's default, except `table_elements`.

  | field | meaning | default when `nil` |
  |---|---|---|
  | `memory_size` | bytes per linear memory | unlimited (a 32-bit memory is at most 4 GiB; a 64-bit one has no bound) |
  | `table_elements` | elements per table | 1,000,000 |
  | `instances` | instances in the store | 10,000 |
  | `tables` | tables in the store | 10,000 |
  | `memories` | memories in the store | 10,000 |

  Going past a limit is never fatal: instantiation fails with `{:error, reason}` and a guest's
  `memory.grow` or `table.grow` returns -1. The table default keeps one `table.grow` from
  allocating gigabytes (wasmtime's own default is unlimited: growing by 2^31-1 elements took
  16 GiB); set `table_elements` to allow more. Memory growth is bounded only by `memory_size`
  and the memory's declared maximum: set `memory_size` for untrusted guests.

      iex> {:ok, _store} = Wasmex.Store.new(%Wasmex.StoreLimits{memory_size: 1_048_576})
  """

  @type t :: %__MODULE__{
          memory_size: non_neg_integer() | nil,
          table_elements: non_neg_integer() | nil,
          instances: non_neg_integer() | nil,
          tables: non_neg_integer() | nil,
          memories: non_neg_integer() | nil
        }

  defstruct memory_size: nil, table_elements: nil, instances: nil, tables: nil, memories: nil
end
