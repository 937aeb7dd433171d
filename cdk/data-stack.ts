import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { projectionOf, TABLES, type AttributeType as DefAttributeType, type Projection, type TableDef, type TableId } from '#shared/tables.ts';

export interface DataStackProps extends StackProps {
  stage: string;
}

const ATTRIBUTE_TYPES: Record<DefAttributeType, AttributeType> = { S: AttributeType.STRING, N: AttributeType.NUMBER };

const projection = (p: Projection) => (p.type === 'INCLUDE' ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: p.nonKeyAttributes } : { projectionType: ProjectionType[p.type] });

/** Construct id of a table: `OrdersTable`, … */
const constructId = (id: TableId) => `${id.charAt(0).toUpperCase()}${id.slice(1)}Table`;

/**
 * The stateful stack: every table of `TABLES` (shared/tables.ts), on demand, with point-in-time
 * recovery and RETAIN, so deleting or replacing the stateless stack never touches the data.
 * Keys, indexes, projections and TTL come from the shared definitions and nowhere else.
 */
export class DataStack extends Stack {
  readonly tables: Record<TableId, Table>;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { description: `Provider renewal (${props.stage}): tables`, ...props });
    this.tables = Object.fromEntries(Object.values<TableDef>(TABLES).map((def) => [def.id, this.table(def, props.stage)])) as Record<TableId, Table>;
  }

  private table(def: TableDef, stage: string): Table {
    const key = (name: string) => {
      const type = def.attributes[name];
      if (!type) throw new Error(`shared/tables.ts: ${def.id}.${name} is a key but not in attributes`);
      return { name, type: ATTRIBUTE_TYPES[type] };
    };
    const table = new Table(this, constructId(def.id), {
      partitionKey: key(def.partitionKey),
      ...(def.sortKey ? { sortKey: key(def.sortKey) } : {}),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: stage === 'prod',
      ...(def.ttlAttribute ? { timeToLiveAttribute: def.ttlAttribute } : {}),
    });
    for (const index of def.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: key(index.partitionKey),
        ...(index.sortKey ? { sortKey: key(index.sortKey) } : {}),
        ...projection(projectionOf(index)),
      });
    }
    return table;
  }
}
