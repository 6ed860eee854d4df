// Tensors carry a DType, so Core's API is not usable without the block-type registry: importing
// LLMQCore brings LLMQBlocks along.
@_exported import LLMQBlocks
