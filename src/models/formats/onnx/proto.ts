/**
 * The ONNX protobuf schema (the fields of onnx.proto, IR version 8, that Parsimony reads and
 * writes), declared as a protobufjs JSON descriptor so no .proto file has to ship with the package.
 * Field names and numbers follow the ONNX specification (https://github.com/onnx/onnx, Apache-2.0);
 * the declaration itself is written here, not copied from onnx.proto.
 */
import protobuf from 'protobufjs';

const opt = (type: string, id: number) => ({ type, id });
const rep = (type: string, id: number) => ({ type, id, rule: 'repeated' as const });

const DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: opt('string', 1),
            refAttrName: opt('string', 21),
            docString: opt('string', 13),
            type: opt('int32', 20),
            f: opt('float', 2),
            i: opt('int64', 3),
            s: opt('bytes', 4),
            t: opt('TensorProto', 5),
            g: opt('GraphProto', 6),
            sparseTensor: opt('SparseTensorProto', 22),
            tp: opt('TypeProto', 14),
            floats: rep('float', 7),
            ints: rep('int64', 8),
            strings: rep('bytes', 9),
            tensors: rep('TensorProto', 10),
            graphs: rep('GraphProto', 11),
            sparseTensors: rep('SparseTensorProto', 23),
            typeProtos: rep('TypeProto', 15),
          },
        },
        ValueInfoProto: {
          fields: { name: opt('string', 1), type: opt('TypeProto', 2), docString: opt('string', 3) },
        },
        NodeProto: {
          fields: {
            input: rep('string', 1),
            output: rep('string', 2),
            name: opt('string', 3),
            opType: opt('string', 4),
            domain: opt('string', 7),
            attribute: rep('AttributeProto', 5),
            docString: opt('string', 6),
          },
        },
        TrainingInfoProto: {
          fields: {
            initialization: opt('GraphProto', 1),
            algorithm: opt('GraphProto', 2),
            initializationBinding: rep('StringStringEntryProto', 3),
            updateBinding: rep('StringStringEntryProto', 4),
          },
        },
        ModelProto: {
          fields: {
            irVersion: opt('int64', 1),
            opsetImport: rep('OperatorSetIdProto', 8),
            producerName: opt('string', 2),
            producerVersion: opt('string', 3),
            domain: opt('string', 4),
            modelVersion: opt('int64', 5),
            docString: opt('string', 6),
            graph: opt('GraphProto', 7),
            metadataProps: rep('StringStringEntryProto', 14),
            trainingInfo: rep('TrainingInfoProto', 20),
            functions: rep('FunctionProto', 25),
          },
        },
        StringStringEntryProto: { fields: { key: opt('string', 1), value: opt('string', 2) } },
        TensorAnnotation: {
          fields: {
            tensorName: opt('string', 1),
            quantParameterTensorNames: rep('StringStringEntryProto', 2),
          },
        },
        GraphProto: {
          fields: {
            node: rep('NodeProto', 1),
            name: opt('string', 2),
            initializer: rep('TensorProto', 5),
            sparseInitializer: rep('SparseTensorProto', 15),
            docString: opt('string', 10),
            input: rep('ValueInfoProto', 11),
            output: rep('ValueInfoProto', 12),
            valueInfo: rep('ValueInfoProto', 13),
            quantizationAnnotation: rep('TensorAnnotation', 14),
          },
        },
        TensorProto: {
          fields: {
            dims: rep('int64', 1),
            dataType: opt('int32', 2),
            segment: opt('Segment', 3),
            floatData: rep('float', 4),
            int32Data: rep('int32', 5),
            stringData: rep('bytes', 6),
            int64Data: rep('int64', 7),
            name: opt('string', 8),
            docString: opt('string', 12),
            rawData: opt('bytes', 9),
            externalData: rep('StringStringEntryProto', 13),
            dataLocation: opt('int32', 14),
            doubleData: rep('double', 10),
            uint64Data: rep('uint64', 11),
          },
          nested: { Segment: { fields: { begin: opt('int64', 1), end: opt('int64', 2) } } },
        },
        SparseTensorProto: {
          fields: { values: opt('TensorProto', 1), indices: opt('TensorProto', 2), dims: rep('int64', 3) },
        },
        TensorShapeProto: {
          fields: { dim: rep('Dimension', 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: opt('int64', 1), dimParam: opt('string', 2), denotation: opt('string', 3) },
            },
          },
        },
        TypeProto: {
          oneofs: {
            value: {
              oneof: ['tensorType', 'sequenceType', 'mapType', 'optionalType', 'sparseTensorType'],
            },
          },
          fields: {
            tensorType: opt('Tensor', 1),
            sequenceType: opt('Sequence', 4),
            mapType: opt('Map', 5),
            optionalType: opt('Optional', 9),
            sparseTensorType: opt('SparseTensor', 8),
            denotation: opt('string', 6),
          },
          nested: {
            Tensor: { fields: { elemType: opt('int32', 1), shape: opt('TensorShapeProto', 2) } },
            Sequence: { fields: { elemType: opt('TypeProto', 1) } },
            Map: { fields: { keyType: opt('int32', 1), valueType: opt('TypeProto', 2) } },
            Optional: { fields: { elemType: opt('TypeProto', 1) } },
            SparseTensor: { fields: { elemType: opt('int32', 1), shape: opt('TensorShapeProto', 2) } },
          },
        },
        OperatorSetIdProto: { fields: { domain: opt('string', 1), version: opt('int64', 2) } },
        FunctionProto: {
          fields: {
            name: opt('string', 1),
            input: rep('string', 4),
            output: rep('string', 5),
            attribute: rep('string', 6),
            node: rep('NodeProto', 7),
            docString: opt('string', 8),
            opsetImport: rep('OperatorSetIdProto', 9),
            domain: opt('string', 10),
          },
        },
      },
    },
  },
};

let modelType: protobuf.Type | undefined;

/** The protobufjs type of `onnx.ModelProto`, built once. */
export function modelProtoType(): protobuf.Type {
  if (!modelType) {
    // proto2, as onnx.proto: a field set to its default (keepdims = 0) is still written. protobufjs
    // takes JSON-declared types as proto3 unless each top-level type names its edition.
    const messages = Object.fromEntries(
      Object.entries(DESCRIPTOR.nested.onnx.nested).map(([name, m]) => [name, { ...m, edition: 'proto2' }]),
    );
    modelType = protobuf.Root.fromJSON({ nested: { onnx: { nested: messages } } }).lookupType(
      'onnx.ModelProto',
    );
  }
  return modelType;
}

/** An int64 field as decoded by protobufjs (a number, or a Long when the value needs 64 bits). */
export type Int64 = number | { toNumber(): number };

export function int64(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

// The decoded shapes of the messages, as far as Parsimony uses them.
export interface TensorShapeProto {
  dim?: { dimValue?: Int64 | null; dimParam?: string | null }[];
}
export interface TypeProto {
  tensorType?: { elemType?: number; shape?: TensorShapeProto | null } | null;
}
export interface ValueInfoProto {
  name: string;
  type?: TypeProto | null;
}
export interface StringStringEntryProto {
  key: string;
  value: string;
}
export interface TensorProto {
  name: string;
  dims: Int64[];
  dataType: number;
  rawData?: Uint8Array | null;
  floatData: number[];
  int32Data: number[];
  int64Data: Int64[];
  doubleData: number[];
  uint64Data: Int64[];
  externalData: StringStringEntryProto[];
  dataLocation?: number | null;
}
export interface AttributeProto {
  name: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto | null;
  g?: GraphProto | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
}
export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: AttributeProto[];
}
export interface GraphProto {
  name?: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
}
export interface OperatorSetIdProto {
  domain?: string;
  version: Int64;
}
export interface ModelProto {
  irVersion: Int64;
  opsetImport: OperatorSetIdProto[];
  producerName?: string;
  producerVersion?: string;
  graph?: GraphProto | null;
}
