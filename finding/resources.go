package finding

import "strings"

// Resource kinds of ResourceRef.Kind.
const (
	KindInstance           = "ec2-instance"
	KindAccessKey          = "iam-access-key"
	KindUser               = "iam-user"
	KindRole               = "iam-role"
	KindRoot               = "iam-root"
	KindBucket             = "s3-bucket"
	KindS3Object           = "s3-object"
	KindEKSCluster         = "eks-cluster"
	KindKubernetesWorkload = "kubernetes-workload"
	KindECSCluster         = "ecs-cluster"
	KindECSTask            = "ecs-task"
	KindContainer          = "container"
	KindDBInstance         = "rds-db-instance"
	KindDBShardGroup       = "rds-db-shard-group"
	KindLambda             = "lambda-function"
	KindVolume             = "ebs-volume"
	KindSnapshot           = "ebs-snapshot"
	KindImage              = "ec2-image"
	KindRecoveryPoint      = "backup-recovery-point"
)

// ResourceRef names one resource a finding is about, in the form response
// steps and guards need: what kind it is, its identifier, name and ARN where
// known, where it lives and its tags.
type ResourceRef struct {
	Kind      string            `json:"kind"`
	ID        string            `json:"id,omitempty"`
	Name      string            `json:"name,omitempty"`
	ARN       string            `json:"arn,omitempty"`
	AccountID string            `json:"accountId,omitempty"`
	Region    string            `json:"region,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	// Attrs holds kind-specific facts: the user type of a key, the image of a
	// container, the namespace of a workload …
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Label is a short human description, e.g. "ec2-instance i-0abc".
func (r ResourceRef) Label() string {
	id := r.ID
	if id == "" {
		id = r.Name
	}
	if id == "" {
		id = r.ARN
	}
	return r.Kind + " " + id
}

// Resources returns the principal resources of the finding, the affected
// resource first: the instance; the access key and the user or role it
// belongs to; the buckets; the cluster and workload; the container; the
// database; the function; the resources of an attack sequence. The result is
// computed from the typed view on each call.
func (f *Finding) Resources() []ResourceRef {
	r := &f.Resource
	var out []ResourceRef
	add := func(ref ResourceRef) {
		if ref.ID == "" && ref.Name == "" && ref.ARN == "" {
			return
		}
		if ref.AccountID == "" {
			ref.AccountID = f.AccountID
		}
		if ref.Region == "" && ref.Kind != KindUser && ref.Kind != KindRole && ref.Kind != KindRoot && ref.Kind != KindAccessKey && ref.Kind != KindBucket {
			ref.Region = f.Region
		}
		out = append(out, ref)
	}
	partition := f.Partition
	if partition == "" {
		partition = "aws"
	}

	instance := func() {
		if d := r.InstanceDetails; d != nil && d.InstanceID != "" {
			ref := ResourceRef{Kind: KindInstance, ID: d.InstanceID, Tags: tagMap(d.Tags),
				ARN: "arn:" + partition + ":ec2:" + f.Region + ":" + f.AccountID + ":instance/" + d.InstanceID}
			if d.IAMInstanceProfile != nil && d.IAMInstanceProfile.ARN != "" {
				ref.Attrs = map[string]string{"instanceProfileArn": d.IAMInstanceProfile.ARN}
			}
			add(ref)
		}
	}
	accessKey := func() {
		d := r.AccessKeyDetails
		if d == nil {
			return
		}
		if d.AccessKeyID != "" {
			add(ResourceRef{Kind: KindAccessKey, ID: d.AccessKeyID, Name: d.UserName,
				Attrs: nonEmpty(map[string]string{"userType": d.UserType, "principalId": d.PrincipalID, "userName": d.UserName})})
		}
		if d.UserName == "" {
			return
		}
		switch d.UserType {
		case "IAMUser":
			add(ResourceRef{Kind: KindUser, Name: d.UserName, Attrs: nonEmpty(map[string]string{"principalId": d.PrincipalID}),
				ARN: "arn:" + partition + ":iam::" + f.AccountID + ":user/" + d.UserName})
		case "Role", "AssumedRole":
			add(ResourceRef{Kind: KindRole, Name: d.UserName,
				ARN:   "arn:" + partition + ":iam::" + f.AccountID + ":role/" + d.UserName,
				Attrs: nonEmpty(map[string]string{"userType": d.UserType, "principalId": d.PrincipalID})})
		case "Root":
			add(ResourceRef{Kind: KindRoot, Name: d.UserName, Attrs: nonEmpty(map[string]string{"principalId": d.PrincipalID}),
				ARN: "arn:" + partition + ":iam::" + f.AccountID + ":root"})
		}
	}
	buckets := func() {
		for _, b := range r.S3BucketDetails {
			name := b.Name
			if name == "" && strings.HasPrefix(b.ARN, "arn:") {
				name = b.ARN[strings.LastIndexByte(b.ARN, ':')+1:]
			}
			arn := b.ARN
			if arn == "" && name != "" {
				arn = "arn:" + partition + ":s3:::" + name
			}
			add(ResourceRef{Kind: KindBucket, Name: name, ARN: arn, Tags: tagMap(b.Tags),
				Attrs: nonEmpty(map[string]string{"type": b.Type, "effectivePermission": effective(b.PublicAccess)})})
			for _, o := range b.S3ObjectDetails {
				add(ResourceRef{Kind: KindS3Object, Name: o.Key, ARN: o.ObjectARN,
					Attrs: nonEmpty(map[string]string{"bucket": name, "versionId": o.VersionID})})
			}
		}
	}

	// The affected resource first, then the others the finding names.
	switch r.ResourceType {
	case "Instance":
		instance()
	case "AccessKey":
		accessKey()
	case "S3Bucket", "S3Object":
		buckets()
	}
	if d := r.EKSClusterDetails; d != nil {
		add(ResourceRef{Kind: KindEKSCluster, Name: d.Name, ARN: d.ARN, Tags: tagMap(d.Tags)})
	}
	if d := r.KubernetesDetails; d != nil && d.KubernetesWorkloadDetails != nil {
		w := d.KubernetesWorkloadDetails
		add(ResourceRef{Kind: KindKubernetesWorkload, ID: w.UID, Name: w.Name,
			Attrs: nonEmpty(map[string]string{"namespace": w.Namespace, "type": w.Type})})
	}
	if d := r.ECSClusterDetails; d != nil {
		add(ResourceRef{Kind: KindECSCluster, Name: d.Name, ARN: d.ARN, Tags: tagMap(d.Tags)})
		if t := d.TaskDetails; t != nil {
			add(ResourceRef{Kind: KindECSTask, ARN: t.ARN, Tags: tagMap(t.Tags),
				Attrs: nonEmpty(map[string]string{"definitionArn": t.DefinitionARN})})
		}
	}
	if d := r.ContainerDetails; d != nil {
		add(ResourceRef{Kind: KindContainer, ID: d.ID, Name: d.Name,
			Attrs: nonEmpty(map[string]string{"image": d.Image, "runtime": d.ContainerRuntime})})
	}
	if d := r.RDSDBInstanceDetails; d != nil {
		add(ResourceRef{Kind: KindDBInstance, ID: d.DBInstanceIdentifier, ARN: d.DBInstanceARN, Tags: tagMap(d.Tags),
			Attrs: nonEmpty(map[string]string{"engine": d.Engine, "cluster": d.DBClusterIdentifier})})
	}
	if d := r.RDSLimitlessDBDetails; d != nil {
		add(ResourceRef{Kind: KindDBShardGroup, ID: d.DBShardGroupIdentifier, ARN: d.DBShardGroupARN, Tags: tagMap(d.Tags),
			Attrs: nonEmpty(map[string]string{"engine": d.Engine, "cluster": d.DBClusterIdentifier})})
	}
	if d := r.LambdaDetails; d != nil {
		add(ResourceRef{Kind: KindLambda, Name: d.FunctionName, ARN: d.FunctionARN, Tags: tagMap(d.Tags),
			Attrs: nonEmpty(map[string]string{"role": d.Role, "version": d.FunctionVersion})})
	}
	if d := r.EBSVolumeDetails; d != nil {
		for _, v := range d.ScannedVolumeDetails {
			add(ResourceRef{Kind: KindVolume, ARN: v.VolumeARN, ID: lastSegment(v.VolumeARN)})
		}
	}
	if d := r.EBSSnapshotDetails; d != nil {
		add(ResourceRef{Kind: KindSnapshot, ARN: d.SnapshotARN, ID: lastSegment(d.SnapshotARN)})
	}
	if d := r.EC2ImageDetails; d != nil {
		add(ResourceRef{Kind: KindImage, ARN: d.ImageARN, ID: lastSegment(d.ImageARN)})
	}
	if d := r.RecoveryPointDetails; d != nil {
		add(ResourceRef{Kind: KindRecoveryPoint, ARN: d.RecoveryPointARN,
			Attrs: nonEmpty(map[string]string{"backupVault": d.BackupVaultName})})
	}
	// A runtime finding on EC2 names the host instance beside the container;
	// a sample finding of another type may carry a placeholder instance,
	// which is not its resource.
	if r.ResourceType != "Instance" && r.ResourceType != "AccessKey" && r.InstanceDetails != nil && (r.ContainerDetails != nil || r.EKSClusterDetails != nil || r.ECSClusterDetails != nil) {
		instance()
	}
	if r.ResourceType != "AccessKey" {
		accessKey()
	}
	if r.ResourceType != "S3Bucket" && r.ResourceType != "S3Object" {
		buckets()
	}
	if s := f.Service.Detection; s != nil && s.Sequence != nil {
		for _, sr := range s.Sequence.Resources {
			add(ResourceRef{Kind: sequenceKind(sr.ResourceType), ID: sr.UID, Name: sr.Name,
				AccountID: sr.AccountID, Region: sr.Region, Tags: tagMap(sr.Tags)})
		}
	}
	return out
}

// sequenceKind maps attack-sequence resource types to ResourceRef kinds.
func sequenceKind(t string) string {
	switch t {
	case "EC2_INSTANCE":
		return KindInstance
	case "S3_BUCKET":
		return KindBucket
	case "ACCESS_KEY":
		return KindAccessKey
	case "EKS_CLUSTER":
		return KindEKSCluster
	case "KUBERNETES_WORKLOAD":
		return KindKubernetesWorkload
	case "CONTAINER":
		return KindContainer
	case "ECS_CLUSTER":
		return KindECSCluster
	case "ECS_TASK":
		return KindECSTask
	}
	return strings.ToLower(strings.ReplaceAll(t, "_", "-"))
}

func tagMap(tags []Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func nonEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func effective(p *PublicAccess) string {
	if p == nil {
		return ""
	}
	return p.EffectivePermission
}

func lastSegment(arn string) string {
	if i := strings.LastIndexAny(arn, "/:"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
